"""RRDBNet, the generator of ESRGAN (Wang et al., 2018) and of PaddleGAN's RealSR.

Parameter names and shapes are PaddleGAN's (``ppgan/models/generators/rrdb_net.py``), so its
published weights (e.g. ``DF2K_JPEG.pdparams`` of ``RealSRPredictor``: ``RRDBNet(3, 3, 64, 23)``)
load unchanged: ``conv_first``, ``RRDB_trunk.<i>.RDB<j>.conv<k>``, ``trunk_conv``, ``upconv1``,
``upconv2``, ``HRconv``, ``conv_last``.
"""
from __future__ import annotations

import paddle
import paddle.nn.functional as F
from paddle import nn

from ppgan_app.registries import GENERATORS

RESIDUAL_SCALE = 0.2  # ESRGAN's residual scaling inside and around each dense block


def pixel_unshuffle(x: paddle.Tensor, factor: int) -> paddle.Tensor:
    """``[N, C, H, W]`` -> ``[N, C * factor**2, H / factor, W / factor]`` (inverse of pixel shuffle)."""
    n, c, h, w = x.shape
    if h % factor or w % factor:
        raise ValueError(f"pixel_unshuffle needs H and W divisible by {factor}, got {h}x{w}")
    x = x.reshape([n, c, h // factor, factor, w // factor, factor])
    return x.transpose([0, 1, 3, 5, 2, 4]).reshape([n, c * factor * factor, h // factor, w // factor])


def _conv3(in_c: int, out_c: int) -> nn.Conv2D:
    return nn.Conv2D(in_c, out_c, 3, 1, 1)


class ResidualDenseBlock_5C(nn.Layer):  # noqa: N801 (PaddleGAN's name)
    """Five densely connected 3x3 convs; ``x + 0.2 * conv5([x, x1, .., x4])``, channels ``nf``.

    Args:
        nf: channels in and out.
        gc: growth channels of each of conv1..conv4.
    """

    def __init__(self, nf: int = 64, gc: int = 32) -> None:
        super().__init__()
        self.conv1 = _conv3(nf, gc)
        self.conv2 = _conv3(nf + gc, gc)
        self.conv3 = _conv3(nf + 2 * gc, gc)
        self.conv4 = _conv3(nf + 3 * gc, gc)
        self.conv5 = _conv3(nf + 4 * gc, nf)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        features = [x]
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            features.append(self.lrelu(conv(paddle.concat(features, axis=1))))
        return self.conv5(paddle.concat(features, axis=1)) * RESIDUAL_SCALE + x


class RRDB(nn.Layer):
    """Residual in residual dense block: three dense blocks and a scaled skip."""

    def __init__(self, nf: int, gc: int = 32) -> None:
        super().__init__()
        self.RDB1 = ResidualDenseBlock_5C(nf, gc)
        self.RDB2 = ResidualDenseBlock_5C(nf, gc)
        self.RDB3 = ResidualDenseBlock_5C(nf, gc)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return self.RDB3(self.RDB2(self.RDB1(x))) * RESIDUAL_SCALE + x


@GENERATORS.register
class RRDBNet(nn.Layer):
    """``[N, in_nc, h, w]`` in [0, 1] -> ``[N, out_nc, 4h / (4 / scale), ...]`` (x``scale``).

    The body always upsamples by 4 (two nearest x2 + conv stages); for ``scale`` 2 or 1 the
    input is first pixel-unshuffled by 2 or 4 (PaddleGAN's and Real-ESRGAN's convention), so
    H and W must then be divisible by that factor.

    Args:
        in_nc, out_nc: image channels in and out.
        nf: feature channels; nb: number of RRDB blocks; gc: growth channels.
        scale: 4, 2 or 1.
    """

    def __init__(self, in_nc: int, out_nc: int, nf: int, nb: int, gc: int = 32, scale: int = 4) -> None:
        super().__init__()
        if scale not in (1, 2, 4):
            raise ValueError(f"RRDBNet scale must be 1, 2 or 4, got {scale}")
        self.scale = scale
        self.unshuffle = {4: 1, 2: 2, 1: 4}[scale]
        self.conv_first = _conv3(in_nc * self.unshuffle ** 2, nf)
        self.RRDB_trunk = nn.Sequential(*[RRDB(nf, gc) for _ in range(nb)])
        self.trunk_conv = _conv3(nf, nf)
        self.upconv1 = _conv3(nf, nf)
        self.upconv2 = _conv3(nf, nf)
        self.HRconv = _conv3(nf, nf)
        self.conv_last = _conv3(nf, out_nc)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        if self.unshuffle > 1:
            x = pixel_unshuffle(x, self.unshuffle)
        fea = self.conv_first(x)
        fea = fea + self.trunk_conv(self.RRDB_trunk(fea))
        for conv in (self.upconv1, self.upconv2):
            fea = self.lrelu(conv(F.interpolate(fea, scale_factor=2, mode="nearest")))
        return self.conv_last(self.lrelu(self.HRconv(fea)))
