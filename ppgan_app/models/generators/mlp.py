"""Multilayer-perceptron generator: the seed GAN's G (Goodfellow et al., 2014)."""
from __future__ import annotations

from typing import Optional, Sequence

import paddle
from paddle import nn

from ppgan_app.models.conditioning import concat_one_hot, conditional_variant
from ppgan_app.registries import GENERATORS


def mlp_block(in_dim: int, out_dim: int, norm: str, negative_slope: float) -> nn.Sequential:
    """Linear -> (BatchNorm1D) -> LeakyReLU."""
    layers = [nn.Linear(in_dim, out_dim)]
    if norm == "batch":
        layers.append(nn.BatchNorm1D(out_dim))
    elif norm != "none":
        raise ValueError(f"norm must be 'batch' or 'none', got {norm!r}")
    layers.append(nn.LeakyReLU(negative_slope))
    return nn.Sequential(*layers)


@GENERATORS.register
class MLPGenerator(nn.Layer):
    """z ``[N, nz]`` (+ labels) -> images ``[N, output_nc, img_size, img_size]`` in [-1, 1].

    Args:
        nz: noise dimension.
        img_size: output height and width (28 for MNIST).
        output_nc: output channels.
        hidden_dims: widths of the hidden layers.
        norm: ``batch`` or ``none`` after each hidden Linear.
        negative_slope: LeakyReLU slope (0 gives ReLU).
        n_class: number of classes to condition on; 0 for an unconditional G.
    """

    def __init__(self, nz: int = 100, img_size: int = 28, output_nc: int = 1,
                 hidden_dims: Sequence[int] = (256, 512, 1024), norm: str = "batch",
                 negative_slope: float = 0.2, n_class: int = 0) -> None:
        super().__init__()
        self.nz, self.img_size, self.output_nc, self.n_class = nz, img_size, output_nc, n_class
        dims = [nz + n_class] + list(hidden_dims)
        blocks = [mlp_block(a, b, norm, negative_slope) for a, b in zip(dims[:-1], dims[1:])]
        self.body = nn.Sequential(*blocks)
        self.head = nn.Linear(dims[-1], output_nc * img_size * img_size)

    def forward(self, z: paddle.Tensor, class_id: Optional[paddle.Tensor] = None) -> paddle.Tensor:
        h = self.body(concat_one_hot(z, class_id, self.n_class))
        return paddle.tanh(self.head(h)).reshape([-1, self.output_nc, self.img_size, self.img_size])


ConditionalMLPGenerator = conditional_variant(MLPGenerator, GENERATORS)
