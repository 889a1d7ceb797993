"""DCGAN discriminator (Radford et al., 2016), optionally spectrally normalised."""
from __future__ import annotations

from typing import Optional

import paddle
from paddle import nn

from ppgan_app.models.conditioning import concat_one_hot_maps, conditional_variant
from ppgan_app.models.generators.dcgan import resolution_plan
from ppgan_app.models.layers import Conv2D
from ppgan_app.registries import DISCRIMINATORS

NORM_TYPES = ("batch", "instance", "none")


def _conv(in_c: int, out_c: int, kernel: int, stride: int, padding: int, bias: bool,
          spectral_norm: bool) -> nn.Layer:
    conv = Conv2D(in_c, out_c, kernel, stride, padding, bias_attr=bias)
    return nn.utils.spectral_norm(conv) if spectral_norm else conv


def _norm(norm_type: str, channels: int) -> Optional[nn.Layer]:
    if norm_type == "batch":
        return nn.BatchNorm2D(channels)
    if norm_type == "instance":
        return nn.InstanceNorm2D(channels)
    return None


@DISCRIMINATORS.register
class DCGANDiscriminator(nn.Layer):
    """Images ``[N, input_nc, img_size, img_size]`` (+ labels) -> logits ``[N]``.

    Stride-2 convs halve the size down to ``base`` (4 or 7), doubling the width from
    ``ndf``; a final ``base x base`` conv gives one score.

    Args:
        input_nc: input channels.
        ndf: width of the first conv.
        img_size: input height and width: 28, 32, 64, ...
        norm_type: ``batch`` (DCGAN), ``instance`` or ``none`` (use ``none`` or ``instance``
            for WGAN-GP: its penalty is per sample, and Paddle has no double grad of layer norm).
        spectral_norm: wrap every conv in spectral normalisation (Miyato et al., 2018).
        negative_slope: LeakyReLU slope.
        n_class: number of classes to condition on (one-hot planes concatenated to the
            image); 0 for none.
    """

    def __init__(self, input_nc: int = 1, ndf: int = 64, img_size: int = 64, norm_type: str = "batch",
                 spectral_norm: bool = False, negative_slope: float = 0.2, n_class: int = 0) -> None:
        super().__init__()
        if norm_type not in NORM_TYPES:
            raise ValueError(f"norm_type must be one of {NORM_TYPES}, got {norm_type!r}")
        self.input_nc, self.img_size, self.n_class = input_nc, img_size, n_class
        base, steps = resolution_plan(img_size)
        layers = [_conv(input_nc + n_class, ndf, 4, 2, 1, True, spectral_norm), nn.LeakyReLU(negative_slope)]
        width = ndf
        for _ in range(steps - 1):
            norm = _norm(norm_type, width * 2)
            layers.append(_conv(width, width * 2, 4, 2, 1, norm is None, spectral_norm))
            layers += [norm] if norm is not None else []
            layers.append(nn.LeakyReLU(negative_slope))
            width *= 2
        self.body = nn.Sequential(*layers)
        self.head = _conv(width, 1, base, 1, 0, True, spectral_norm)

    def forward(self, x: paddle.Tensor, class_id: Optional[paddle.Tensor] = None) -> paddle.Tensor:
        n = x.shape[0]
        h = self.body(concat_one_hot_maps(x, class_id, self.n_class))
        return self.head(h).reshape([n])


ConditionalDCGANDiscriminator = conditional_variant(DCGANDiscriminator, DISCRIMINATORS)
