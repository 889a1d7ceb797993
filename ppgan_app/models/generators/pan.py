"""PAN, the pixel-attention network (Zhao et al., ECCV-W 2020): a light SR generator (~272k
parameters at PaddleGAN's x4 size ``nf 40, unf 24, nb 16``).

Parameter names and shapes are PaddleGAN's (``ppgan/models/generators/pan.py``), so its
``pan_x4.pdparams`` loads unchanged: ``conv_first``, ``SCPA_trunk.block<i>.{conv1_a, conv1_b,
k1.0, PAConv.{k2, k3, k4}, conv3}``, ``trunk_conv``, ``upconv1``, ``att1.conv``, ``HRconv1``
(and ``upconv2``, ``att2.conv``, ``HRconv2`` at x4), ``conv_last``.
"""
from __future__ import annotations

import paddle
import paddle.nn.functional as F
from paddle import nn

from ppgan_app.registries import GENERATORS


class PA(nn.Layer):
    """Pixel attention: ``x * sigmoid(conv1x1(x))``."""

    def __init__(self, nf: int) -> None:
        super().__init__()
        self.conv = nn.Conv2D(nf, nf, 1)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return x * F.sigmoid(self.conv(x))


class PAConv(nn.Layer):
    """Pixel-attention conv: ``k4(k3(x) * sigmoid(k2(x)))`` (k2 1x1 with bias, k3/k4 3x3 without)."""

    def __init__(self, nf: int, k_size: int = 3) -> None:
        super().__init__()
        pad = (k_size - 1) // 2
        self.k2 = nn.Conv2D(nf, nf, 1)
        self.k3 = nn.Conv2D(nf, nf, k_size, padding=pad, bias_attr=False)
        self.k4 = nn.Conv2D(nf, nf, k_size, padding=pad, bias_attr=False)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return self.k4(self.k3(x) * F.sigmoid(self.k2(x)))


class SCPA(nn.Layer):
    """Self-calibrated block with pixel attention: two half-width branches (plain 3x3 conv,
    PAConv), joined by a 1x1 conv, plus the input. Channels ``nf`` in and out."""

    def __init__(self, nf: int, reduction: int = 2) -> None:
        super().__init__()
        width = nf // reduction
        self.conv1_a = nn.Conv2D(nf, width, 1, bias_attr=False)
        self.conv1_b = nn.Conv2D(nf, width, 1, bias_attr=False)
        self.k1 = nn.Sequential(nn.Conv2D(width, width, 3, padding=1, bias_attr=False))
        self.PAConv = PAConv(width)
        self.conv3 = nn.Conv2D(width * reduction, nf, 1, bias_attr=False)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        out_a = self.lrelu(self.k1(self.lrelu(self.conv1_a(x))))
        out_b = self.lrelu(self.PAConv(self.lrelu(self.conv1_b(x))))
        return self.conv3(paddle.concat([out_a, out_b], axis=1)) + x


@GENERATORS.register
class PAN(nn.Layer):
    """``[N, in_nc, h, w]`` in [0, 1] -> ``[N, out_nc, scale * h, scale * w]``.

    The network predicts a residual over the bilinear upscale of its input.

    Args:
        in_nc, out_nc: image channels; nf: trunk channels; unf: upsampling channels;
        nb: SCPA blocks; scale: 2, 3 or 4.
    """

    def __init__(self, in_nc: int, out_nc: int, nf: int, unf: int, nb: int, scale: int = 4) -> None:
        super().__init__()
        if scale not in (2, 3, 4):
            raise ValueError(f"PAN scale must be 2, 3 or 4, got {scale}")
        self.scale = scale
        self.conv_first = nn.Conv2D(in_nc, nf, 3, 1, 1)
        self.SCPA_trunk = nn.Sequential()
        for i in range(nb):
            self.SCPA_trunk.add_sublayer(f"block{i}", SCPA(nf))
        self.trunk_conv = nn.Conv2D(nf, nf, 3, 1, 1)
        self.upconv1 = nn.Conv2D(nf, unf, 3, 1, 1)
        self.att1 = PA(unf)
        self.HRconv1 = nn.Conv2D(unf, unf, 3, 1, 1)
        if scale == 4:
            self.upconv2 = nn.Conv2D(unf, unf, 3, 1, 1)
            self.att2 = PA(unf)
            self.HRconv2 = nn.Conv2D(unf, unf, 3, 1, 1)
        self.conv_last = nn.Conv2D(unf, out_nc, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        fea = self.conv_first(x)
        fea = fea + self.trunk_conv(self.SCPA_trunk(fea))
        stages = [(self.upconv1, self.att1, self.HRconv1)]
        if self.scale == 4:
            stages.append((self.upconv2, self.att2, self.HRconv2))
        step = 2 if self.scale == 4 else self.scale
        for upconv, att, hrconv in stages:
            fea = upconv(F.interpolate(fea, scale_factor=step, mode="nearest"))
            fea = self.lrelu(hrconv(self.lrelu(att(fea))))
        base = F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)
        return self.conv_last(fea) + base
