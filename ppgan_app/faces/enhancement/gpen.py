"""GPEN face restoration network (Yang et al., 2021), laid out as PaddleGAN's ``GPEN``.

An encoder of strided convolutions reads the degraded face; its last 4x4 features become the
latent code of a StyleGAN2 generator, and every level's features are the generator's "noise"
input, concatenated to its activations (``is_concat``). Parameter names and shapes equal
PaddleGAN's (``ppgan/models/generators/gpen.py`` and its StyleGAN2 generator), so
PaddleGAN's ``GPEN-512.pdparams`` loads unchanged.

Symbols: ``N`` batch, ``S`` the face size (a power of two, 512 for the published model),
``D`` the style dimension, ``ch(r)`` the width at resolution ``r`` (:func:`gpen_channels`).
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ppgan_app.errors import InputError

_SQRT2 = math.sqrt(2.0)
# StyleGAN2's width per resolution before the channel multiplier (PaddleGAN's table).
_BASE_WIDTHS = {4: 512, 8: 512, 16: 512, 32: 512, 64: 256, 128: 128, 256: 64, 512: 32,
                1024: 16}


def gpen_channels(size: int, channel_multiplier: int = 2, channel_divisor: int = 1
                  ) -> Dict[int, int]:
    """Width per resolution 4..``size``: PaddleGAN's table, divided by ``channel_divisor``.

    Resolutions from 64 up are multiplied by ``channel_multiplier`` (2 in GPEN-512);
    ``channel_divisor`` > 1 only builds narrow test models.
    """
    widths = {}
    for res in (2 ** i for i in range(2, int(math.log2(size)) + 1)):
        width = _BASE_WIDTHS[res] * (channel_multiplier if res >= 64 else 1)
        widths[res] = max(1, width // channel_divisor)
    return widths


# --- building blocks ----------------------------------------------------------------------
def blur_kernel_2d(taps: Sequence[float], gain: float = 1.0) -> np.ndarray:
    """Outer product of ``taps`` with itself, normalised to sum ``gain``: ``[k, k]`` float32."""
    k = np.asarray(taps, dtype=np.float32)
    k2 = np.outer(k, k)
    return (k2 / k2.sum() * gain).astype(np.float32)


def upfirdn2d(x: paddle.Tensor, kernel: paddle.Tensor, up: int, pad: Sequence[int]
              ) -> paddle.Tensor:
    """Zero-insert upsample by ``up``, pad ``(pad0, pad1)`` on each side, FIR-filter.

    x: ``[N, C, H, W]``; kernel: ``[k, k]`` (applied flipped, as a true convolution).
    Returns ``[N, C, H*up + pad0 + pad1 - k + 1, ...]``.
    """
    n, c, h, w = x.shape
    if up > 1:
        x = _zero_insert(x.reshape([n, c, h, 1, w, 1]), up).reshape([n, c, h * up, w * up])
    x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]])
    k = kernel.shape[0]
    weight = paddle.flip(kernel, [0, 1]).reshape([1, 1, k, k]).tile([c, 1, 1, 1])
    return F.conv2d(x, weight, groups=c)


def _zero_insert(x: paddle.Tensor, up: int) -> paddle.Tensor:
    """``[N, C, H, 1, W, 1]`` -> ``[N, C, H, up, W, up]`` with the value first, zeros after."""
    n, c, h, _, w, _ = x.shape
    zeros_w = paddle.zeros([n, c, h, 1, w, up - 1], dtype=x.dtype)
    x = paddle.concat([x, zeros_w], axis=5)
    zeros_h = paddle.zeros([n, c, h, up - 1, w, up], dtype=x.dtype)
    return paddle.concat([x, zeros_h], axis=3)


class Blur(nn.Layer):
    """FIR low-pass filter with padding; its kernel is not saved (PaddleGAN's ``Upfirdn2dBlur``)."""

    def __init__(self, taps: Sequence[float], pad: Sequence[int], gain: float = 1.0) -> None:
        super().__init__()
        self.register_buffer("kernel", paddle.to_tensor(blur_kernel_2d(taps, gain)),
                             persistable=False)
        self.pad = tuple(pad)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return upfirdn2d(x, self.kernel, 1, self.pad)


class Upsample(nn.Layer):
    """x2 zero-insert + FIR filter; the kernel is saved in the state dict, as in PaddleGAN."""

    def __init__(self, taps: Sequence[float], factor: int = 2) -> None:
        super().__init__()
        self.factor = factor
        kernel = blur_kernel_2d(taps, gain=factor * factor)
        self.register_buffer("kernel", paddle.to_tensor(kernel))
        p = kernel.shape[0] - factor
        self.pad = ((p + 1) // 2 + factor - 1, p // 2)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return upfirdn2d(x, self.kernel, self.factor, self.pad)


def fused_leaky_relu(x: paddle.Tensor, bias: Optional[paddle.Tensor]) -> paddle.Tensor:
    """``leaky_relu(x + bias, 0.2) * sqrt(2)``; bias broadcast over axis 1."""
    if bias is not None:
        x = x + bias.reshape([1, bias.shape[0]] + [1] * (x.ndim - 2))
    return F.leaky_relu(x, negative_slope=0.2) * _SQRT2


class FusedLeakyReLU(nn.Layer):
    """Per-channel bias then the scaled leaky ReLU."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bias = self.create_parameter([channels],
                                          default_initializer=nn.initializer.Constant(0.0))

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return fused_leaky_relu(x, self.bias)


class EqualLinear(nn.Layer):
    """Linear layer with the equalised learning rate; ``weight`` is ``[in, out]``."""

    def __init__(self, in_dim: int, out_dim: int, bias_init: float = 0.0, lr_mul: float = 1.0,
                 activation: bool = False) -> None:
        super().__init__()
        self.weight = self.create_parameter(
            [in_dim, out_dim], default_initializer=nn.initializer.Normal(0.0, 1.0 / lr_mul))
        self.bias = self.create_parameter(
            [out_dim], default_initializer=nn.initializer.Constant(bias_init))
        self.scale = lr_mul / math.sqrt(in_dim)
        self.lr_mul = lr_mul
        self.activation = activation

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        if self.activation:
            return fused_leaky_relu(F.linear(x, self.weight * self.scale), self.bias * self.lr_mul)
        return F.linear(x, self.weight * self.scale, bias=self.bias * self.lr_mul)


class EqualConv2D(nn.Layer):
    """Bias-free conv with the equalised learning rate (the encoder's; a bias follows it)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int,
                 padding: int) -> None:
        super().__init__()
        self.weight = self.create_parameter([out_channels, in_channels, kernel_size, kernel_size],
                                            default_initializer=nn.initializer.Normal())
        self.scale = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)
        self.stride = stride
        self.padding = padding

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return F.conv2d(x, self.weight * self.scale, stride=self.stride, padding=self.padding)


def encoder_conv(in_channels: int, out_channels: int, kernel_size: int, downsample: bool,
                 taps: Sequence[float]) -> nn.Sequential:
    """[blur,] equalised conv, biased leaky ReLU: PaddleGAN's ``ConvLayer`` (same indices)."""
    layers: List[nn.Layer] = []
    if downsample:
        p = (len(taps) - 2) + (kernel_size - 1)
        layers.append(Blur(taps, ((p + 1) // 2, p // 2)))
        layers.append(EqualConv2D(in_channels, out_channels, kernel_size, stride=2, padding=0))
    else:
        layers.append(EqualConv2D(in_channels, out_channels, kernel_size, stride=1,
                                  padding=kernel_size // 2))
    layers.append(FusedLeakyReLU(out_channels))
    return nn.Sequential(*layers)


class ModulatedConv2D(nn.Layer):
    """StyleGAN2 convolution: weights scaled per sample by the style, optionally demodulated.

    Forward: x ``[N, C_in, H, W]``, style ``[N, D]`` -> ``[N, C_out, H', W']`` with
    ``H' = 2H`` when ``upsample`` (transposed conv + blur), else ``H``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, style_dim: int,
                 demodulate: bool = True, upsample: bool = False,
                 taps: Sequence[float] = (1, 3, 3, 1)) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = kernel_size
        self.upsample = upsample
        self.demodulate = demodulate
        if upsample:
            p = (len(taps) - 2) - (kernel_size - 1)
            self.blur = Blur(taps, ((p + 1) // 2 + 1, p // 2 + 1), gain=4.0)
        self.scale = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)
        self.padding = kernel_size // 2
        self.weight = self.create_parameter(
            [1, out_channels, in_channels, kernel_size, kernel_size],
            default_initializer=nn.initializer.Normal())
        self.modulation = EqualLinear(style_dim, in_channels, bias_init=1.0)

    def forward(self, x: paddle.Tensor, style: paddle.Tensor) -> paddle.Tensor:
        n, c_in, h, w = x.shape
        c_out, k = self.out_channels, self.kernel_size
        style = self.modulation(style).reshape([n, 1, c_in, 1, 1])
        weight = self.scale * self.weight * style                    # [N, C_out, C_in, k, k]
        if self.demodulate:
            demod = paddle.rsqrt((weight * weight).sum([2, 3, 4]) + 1e-8)
            weight = weight * demod.reshape([n, c_out, 1, 1, 1])
        x = x.reshape([1, n * c_in, h, w])
        if self.upsample:
            weight = weight.transpose([0, 2, 1, 3, 4]).reshape([n * c_in, c_out, k, k])
            out = F.conv2d_transpose(x, weight, padding=0, stride=2, groups=n)
            out = out.reshape([n, c_out, out.shape[2], out.shape[3]])
            return self.blur(out)
        out = F.conv2d(x, weight.reshape([n * c_out, c_in, k, k]), padding=self.padding, groups=n)
        return out.reshape([n, c_out, h, w])


class NoiseInjection(nn.Layer):
    """GPEN's variant: ``concat([x, weight * features])`` along channels (``is_concat``)."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = self.create_parameter([1], default_initializer=nn.initializer.Constant(0.0))

    def forward(self, x: paddle.Tensor, features: paddle.Tensor) -> paddle.Tensor:
        return paddle.concat([x, self.weight * features], axis=1)


class ConstantInput(nn.Layer):
    """The learned 4x4 start tensor ``[1, C, 4, 4]``, repeated over the batch."""

    def __init__(self, channels: int, size: int = 4) -> None:
        super().__init__()
        self.input = self.create_parameter([1, channels, size, size],
                                           default_initializer=nn.initializer.Normal())

    def forward(self, batch: int) -> paddle.Tensor:
        return self.input.tile([batch, 1, 1, 1])


class StyledConv(nn.Layer):
    """Modulated conv, then encoder features concatenated, then biased leaky ReLU.

    Output has ``2 * out_channels`` channels (activations + injected features).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, style_dim: int,
                 upsample: bool = False, taps: Sequence[float] = (1, 3, 3, 1)) -> None:
        super().__init__()
        self.conv = ModulatedConv2D(in_channels, out_channels, kernel_size, style_dim,
                                    upsample=upsample, taps=taps)
        self.noise = NoiseInjection()
        self.activate = FusedLeakyReLU(out_channels * 2)

    def forward(self, x: paddle.Tensor, style: paddle.Tensor, features: paddle.Tensor
                ) -> paddle.Tensor:
        return self.activate(self.noise(self.conv(x, style), features))


class ToRGB(nn.Layer):
    """1x1 modulated conv to RGB (no demodulation) plus the upsampled previous RGB (skip)."""

    def __init__(self, in_channels: int, style_dim: int, upsample: bool = True,
                 taps: Sequence[float] = (1, 3, 3, 1)) -> None:
        super().__init__()
        if upsample:
            self.upsample = Upsample(taps)
        self.conv = ModulatedConv2D(in_channels, 3, 1, style_dim, demodulate=False)
        self.bias = self.create_parameter([1, 3, 1, 1],
                                          default_initializer=nn.initializer.Constant(0.0))

    def forward(self, x: paddle.Tensor, style: paddle.Tensor,
                skip: Optional[paddle.Tensor] = None) -> paddle.Tensor:
        out = self.conv(x, style) + self.bias
        return out if skip is None else out + self.upsample(skip)


class PixelNorm(nn.Layer):
    """Normalise each latent vector to unit root-mean-square over axis 1."""

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return x * paddle.rsqrt(paddle.mean(x * x, 1, keepdim=True) + 1e-8)


class StyleGAN2Generator(nn.Layer):
    """StyleGAN2 synthesis network in GPEN's concat mode (PaddleGAN's ``StyleGANv2Generator``
    with ``is_concat=True``), driven by one style vector and per-level encoder features.

    The ``noises.noise_*`` buffers are PaddleGAN's fixed noise maps: unused by GPEN (the encoder
    features replace them) and kept only so that published state dicts load unchanged.
    """

    def __init__(self, size: int, style_dim: int, n_mlp: int, channels: Dict[int, int],
                 taps: Sequence[float] = (1, 3, 3, 1), lr_mlp: float = 0.01) -> None:
        super().__init__()
        self.size, self.style_dim = size, style_dim
        self.log_size = int(math.log2(size))
        self.style = nn.Sequential(PixelNorm(), *[
            EqualLinear(style_dim, style_dim, lr_mul=lr_mlp, activation=True)
            for _ in range(n_mlp)])
        self.input = ConstantInput(channels[4])
        self.conv1 = StyledConv(channels[4], channels[4], 3, style_dim, taps=taps)
        self.to_rgb1 = ToRGB(channels[4] * 2, style_dim, upsample=False)
        self.convs = nn.LayerList()
        self.upsamples = nn.LayerList()      # empty, as in PaddleGAN
        self.to_rgbs = nn.LayerList()
        self.noises = nn.Layer()
        for idx in range((self.log_size - 2) * 2 + 1):
            res = 2 ** ((idx + 5) // 2)
            self.noises.register_buffer(f"noise_{idx}", paddle.zeros([1, 1, res, res]))
        in_ch = channels[4]
        for i in range(3, self.log_size + 1):
            out_ch = channels[2 ** i]
            self.convs.append(StyledConv(in_ch * 2, out_ch, 3, style_dim, upsample=True, taps=taps))
            self.convs.append(StyledConv(out_ch * 2, out_ch, 3, style_dim, taps=taps))
            self.to_rgbs.append(ToRGB(out_ch * 2, style_dim, taps=taps))
            in_ch = out_ch

    def forward(self, code: paddle.Tensor, features: Sequence[paddle.Tensor]) -> paddle.Tensor:
        """code ``[N, D]``; features[j] ``[N, ch(4 * 2**j), 4 * 2**j, ...]`` for j = 0..log2(S)-2.

        Returns the image ``[N, 3, S, S]`` (about [-1, 1] for trained weights).
        """
        style = self.style(code)          # one style for every layer (no mixing)
        out = self.conv1(self.input(code.shape[0]), style, features[0])
        skip = self.to_rgb1(out, style)
        for j in range(1, self.log_size - 1):      # level 4 * 2**j (plain loop: exportable)
            out = self.convs[2 * j - 2](out, style, features[j])
            out = self.convs[2 * j - 1](out, style, features[j])
            skip = self.to_rgbs[j - 1](out, style, skip)
        return skip


class GPEN(nn.Layer):
    """GAN prior embedded network: encoder + StyleGAN2 generator (PaddleGAN's ``GPEN``).

    Args:
        size: S, face side in pixels (power of two >= 8; 512 for ``GPEN-512.pdparams``).
        style_dim: D, latent width (512 published).
        n_mlp: layers of the mapping network (8 published).
        channel_multiplier: widens resolutions >= 64 (2 published).
        blur_kernel: FIR taps for up/down-sampling.
        lr_mlp: learning-rate multiplier of the mapping network (scales its weights).
        channel_divisor: divides every width; only for tiny test models (1 published).

    Forward:
        x: ``[N, 3, S, S]`` float32 RGB in [-1, 1].
        returns ``[N, 3, S, S]`` float32 RGB, about [-1, 1] (not clipped).
    """

    def __init__(self, size: int = 512, style_dim: int = 512, n_mlp: int = 8,
                 channel_multiplier: int = 2, blur_kernel: Sequence[float] = (1, 3, 3, 1),
                 lr_mlp: float = 0.01, channel_divisor: int = 1) -> None:
        super().__init__()
        log_size = int(math.log2(size)) if size > 0 else 0
        if size < 8 or 2 ** log_size != size or size > 1024:
            raise InputError(f"GPEN size must be a power of two in [8, 1024], got {size}")
        self.size, self.log_size = size, log_size
        channels = gpen_channels(size, channel_multiplier, channel_divisor)
        self.generator = StyleGAN2Generator(size, style_dim, n_mlp, channels, blur_kernel, lr_mlp)
        self.ecd0 = nn.Sequential(encoder_conv(3, channels[size], 1, False, blur_kernel))
        self.names = [f"ecd{i}" for i in range(log_size - 1)]
        in_ch = channels[size]
        for i in range(log_size, 2, -1):
            out_ch = channels[2 ** (i - 1)]
            setattr(self, self.names[log_size - i + 1],
                    nn.Sequential(encoder_conv(in_ch, out_ch, 3, True, blur_kernel)))
            in_ch = out_ch
        self.final_linear = nn.Sequential(
            EqualLinear(channels[4] * 16, style_dim, activation=True))

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        features = []
        for name in self.names:
            x = getattr(self, name)(x)
            features.append(x)                                  # S, S/2, ..., 4
        code = self.final_linear(x.reshape([x.shape[0], -1]))   # [N, D]
        return self.generator(code, features[::-1])
