"""Multilayer-perceptron discriminator: the seed GAN's D (Goodfellow et al., 2014)."""
from __future__ import annotations

from typing import Optional, Sequence

import paddle
from paddle import nn

from ppgan_app.models.conditioning import concat_one_hot, conditional_variant
from ppgan_app.registries import DISCRIMINATORS


@DISCRIMINATORS.register
class MLPDiscriminator(nn.Layer):
    """Images ``[N, input_nc, img_size, img_size]`` (+ labels) -> logits ``[N]``.

    Args:
        img_size: input height and width.
        input_nc: input channels.
        hidden_dims: widths of the hidden layers.
        negative_slope: LeakyReLU slope.
        dropout: dropout probability after each hidden layer (Goodfellow et al. used dropout in D).
        n_class: number of classes to condition on; 0 for an unconditional D.
    """

    def __init__(self, img_size: int = 28, input_nc: int = 1, hidden_dims: Sequence[int] = (512, 256),
                 negative_slope: float = 0.2, dropout: float = 0.0, n_class: int = 0) -> None:
        super().__init__()
        self.img_size, self.input_nc, self.n_class = img_size, input_nc, n_class
        dims = [input_nc * img_size * img_size + n_class] + list(hidden_dims)
        layers = []
        for a, b in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(a, b), nn.LeakyReLU(negative_slope)]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(dims[-1], 1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: paddle.Tensor, class_id: Optional[paddle.Tensor] = None) -> paddle.Tensor:
        n = x.shape[0]
        h = concat_one_hot(x.reshape([n, -1]), class_id, self.n_class)
        return self.body(h).reshape([n])


ConditionalMLPDiscriminator = conditional_variant(MLPDiscriminator, DISCRIMINATORS)
