"""Convolution layers with a cheaper bias add on the CPU (same parameters, same results).

Paddle's ``nn.Conv2D`` / ``nn.Conv2DTranspose`` add the bias as a ``[1, C, 1, 1]`` tensor.
In Paddle 3.3 dygraph on the CPU that broadcast takes a slow elementwise path: for a
``[64, 32, 16, 16]`` output, forward + backward of the bias add cost 11 ms of CPU time,
against 3.2 ms when the bias is shaped ``[C, 1, 1]`` (1 thread; ``bench/bench_gan_conv.py``
has the layer-level A/B, ``bench/bench_train.py --paddle-bias`` the training-step one). The
outputs are the same additions; the bias gradient matched Paddle's bit for bit in that
measurement (the tests allow float rounding). Parameter names (``weight``, ``bias``) and
shapes are Paddle's, so checkpoints and ``nn.utils.spectral_norm`` work unchanged.

Only zero padding and NCHW go through the cheap path; any other setting falls back to
Paddle's own forward.
"""
from __future__ import annotations

from typing import Optional

import paddle
import paddle.nn.functional as F
from paddle import nn


def add_channel_bias(x: paddle.Tensor, bias: Optional[paddle.Tensor]) -> paddle.Tensor:
    """``x [N, C, H, W]`` plus ``bias [C]`` on every pixel (``x`` itself when bias is None)."""
    if bias is None:
        return x
    return x + bias.reshape([-1, 1, 1])


class Conv2D(nn.Conv2D):
    """``paddle.nn.Conv2D`` whose bias is added by :func:`add_channel_bias`."""

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        if self._padding_mode != "zeros" or self._data_format != "NCHW":
            return super().forward(x)
        out = F.conv2d(x, self.weight, None, stride=self._stride, padding=self._padding,
                       dilation=self._dilation, groups=self._groups, data_format="NCHW")
        return add_channel_bias(out, self.bias)


class Conv2DTranspose(nn.Conv2DTranspose):
    """``paddle.nn.Conv2DTranspose`` whose bias is added by :func:`add_channel_bias`."""

    def forward(self, x: paddle.Tensor, output_size=None) -> paddle.Tensor:
        if self._data_format != "NCHW":
            return super().forward(x, output_size)
        output_padding = self.output_padding if output_size is None else 0
        out = F.conv2d_transpose(x, self.weight, None, padding=self._padding,
                                 output_padding=output_padding, stride=self._stride,
                                 dilation=self._dilation, groups=self._groups,
                                 output_size=output_size, data_format="NCHW")
        return add_channel_bias(out, self.bias)
