"""DCGAN generator (Radford et al., 2016) for 28, 32, 64 (and larger) square images."""
from __future__ import annotations

from typing import Optional, Tuple

import paddle
from paddle import nn

from ppgan_app.models.conditioning import concat_one_hot, conditional_variant
from ppgan_app.models.layers import Conv2DTranspose
from ppgan_app.registries import GENERATORS


def resolution_plan(img_size: int) -> Tuple[int, int]:
    """``(base, n_steps)`` with ``img_size == base * 2**n_steps``, ``base`` 4 or 7, ``n_steps >= 2``.

    28 -> (7, 2), 32 -> (4, 3), 64 -> (4, 4).
    """
    for base in (4, 7):
        steps, size = 0, base
        while size < img_size:
            size, steps = size * 2, steps + 1
        if size == img_size and steps >= 2:
            return base, steps
    raise ValueError(f"img_size must be 4*2^k or 7*2^k with k >= 2 (e.g. 28, 32, 64), got {img_size}")


def _up_block(in_c: int, out_c: int, kernel: int, stride: int, padding: int, norm: bool) -> nn.Sequential:
    """ConvTranspose -> (BatchNorm) -> ReLU."""
    layers = [Conv2DTranspose(in_c, out_c, kernel, stride, padding, bias_attr=not norm)]
    if norm:
        layers.append(nn.BatchNorm2D(out_c))
    layers.append(nn.ReLU())
    return nn.Sequential(*layers)


@GENERATORS.register
class DCGANGenerator(nn.Layer):
    """z ``[N, nz]`` (+ labels) -> images ``[N, output_nc, img_size, img_size]`` in [-1, 1].

    A transposed conv lifts z to ``base x base`` (4 or 7), then stride-2 transposed convs
    double the size, halving the width from ``ngf * 2**(n_steps-1)`` down to ``ngf``.

    Args:
        nz: noise dimension.
        ngf: width of the last hidden layer.
        output_nc: output channels.
        img_size: output height and width: 28, 32, 64, ...
        norm: use BatchNorm2D after each hidden transposed conv (DCGAN) or not.
        n_class: number of classes to condition on (one-hot concatenated to z); 0 for none.
    """

    def __init__(self, nz: int = 100, ngf: int = 64, output_nc: int = 1, img_size: int = 64,
                 norm: bool = True, n_class: int = 0) -> None:
        super().__init__()
        self.nz, self.ngf, self.output_nc, self.img_size, self.n_class = nz, ngf, output_nc, img_size, n_class
        base, steps = resolution_plan(img_size)
        width = ngf * 2 ** (steps - 1)
        blocks = [_up_block(nz + n_class, width, base, 1, 0, norm)]
        for _ in range(steps - 1):
            blocks.append(_up_block(width, width // 2, 4, 2, 1, norm))
            width //= 2
        self.body = nn.Sequential(*blocks)
        self.head = Conv2DTranspose(width, output_nc, 4, 2, 1)

    def forward(self, z: paddle.Tensor, class_id: Optional[paddle.Tensor] = None) -> paddle.Tensor:
        h = concat_one_hot(z.reshape([z.shape[0], -1]), class_id, self.n_class)
        h = self.body(h.reshape([h.shape[0], h.shape[1], 1, 1]))
        return paddle.tanh(self.head(h))


ConditionalDCGANGenerator = conditional_variant(DCGANGenerator, GENERATORS)
