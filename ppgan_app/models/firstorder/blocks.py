"""Building blocks of the First Order Motion Model (Siarohin et al., NeurIPS 2019).

Attribute names follow PaddleGAN's FOMM code so that its published checkpoints load
unchanged (e.g. ``predictor.encoder.down_blocks.0.conv.weight``, BatchNorm statistics
``_mean`` / ``_variance``). The code itself is written for export: static spatial shapes,
no Python control flow on tensor values, a nearest x2 upsample that is a pure
reshape/expand, an analytic 2x2 inverse and gathers instead of resize ops.

Conventions used throughout the FOMM modules:
    N: batch, K: number of keypoints, C: image channels, H/W: spatial size.
    Coordinates are (x, y) in [-1, 1]; ``-1`` is the centre of the first pixel and ``+1``
    the centre of the last one (``grid_sample(align_corners=True)``).
"""
from __future__ import annotations

import functools
from typing import List, Sequence, Tuple, Union

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

IntPair = Union[int, Tuple[int, int], List[int]]


# --- coordinates, heatmaps and 2x2 algebra -------------------------------------------------
def make_coordinate_grid(spatial_size: Sequence[int], dtype: str = "float32") -> paddle.Tensor:
    """Grid of pixel-centre coordinates.

    Args:
        spatial_size: ``(H, W)``, both > 1.
    Returns:
        ``[H, W, 2]`` with ``[..., 0] = x`` and ``[..., 1] = y``, each in [-1, 1].
    """
    h, w = int(spatial_size[0]), int(spatial_size[1])
    x = 2 * (paddle.arange(w, dtype=dtype) / (w - 1)) - 1
    y = 2 * (paddle.arange(h, dtype=dtype) / (h - 1)) - 1
    xx = x.reshape([1, w, 1]).expand([h, w, 1])
    yy = y.reshape([h, 1, 1]).expand([h, w, 1])
    return paddle.concat([xx, yy], axis=2)


def kp2gaussian(value: paddle.Tensor, spatial_size: Sequence[int], kp_variance: float) -> paddle.Tensor:
    """Gaussian heatmaps centred on keypoints.

    Args:
        value: keypoints ``[N, K, 2]`` in [-1, 1].
        spatial_size: ``(H, W)`` of the heatmaps.
        kp_variance: variance of each gaussian, in grid units squared.
    Returns:
        ``[N, K, H, W]`` in (0, 1], 1 at the keypoint.
    """
    grid = make_coordinate_grid(spatial_size, value.dtype).unsqueeze([0, 1])   # [1,1,H,W,2]
    diff = grid - value.unsqueeze([2, 3])                                     # [N,K,H,W,2]
    return paddle.exp(-0.5 * (diff ** 2).sum(-1) / kp_variance)


def invert_2x2(m: paddle.Tensor) -> paddle.Tensor:
    """Analytic inverse of a batch of 2x2 matrices ``[..., 2, 2]`` (no ``paddle.inverse``)."""
    a, b = m[..., 0, 0], m[..., 0, 1]
    c, d = m[..., 1, 0], m[..., 1, 1]
    det = a * d - b * c
    row0 = paddle.stack([d, -b], axis=-1)
    row1 = paddle.stack([-c, a], axis=-1)
    return paddle.stack([row0, row1], axis=-2) / det.unsqueeze([-1, -2])


def apply_2x2(m: paddle.Tensor, v: paddle.Tensor) -> paddle.Tensor:
    """``m @ v`` for matrices ``[..., 2, 2]`` and vectors ``[..., 2]`` (broadcasting)."""
    return (m * v.unsqueeze(-2)).sum(-1)


def upsample_nearest2x(x: paddle.Tensor) -> paddle.Tensor:
    """Nearest-neighbour x2 upsampling, ``[N, C, H, W] -> [N, C, 2H, 2W]``.

    Identical to ``F.interpolate(x, scale_factor=2)`` but built from unsqueeze/expand/
    reshape, which oneDNN and ONNX exporters handle (a float ``scale_factor`` they do not).
    """
    _, c, h, w = x.shape
    out = x.unsqueeze([3, 5]).expand([-1, -1, -1, 2, -1, 2])
    return out.reshape([-1, c, 2 * h, 2 * w])


@functools.lru_cache(maxsize=64)
def nearest_align_corners_index(in_size: int, out_size: int) -> Tuple[int, ...]:
    """Source index of each output row for nearest resizing with ``align_corners=True``.

    Mirrors Paddle's ``nearest_interp`` kernel (float32 ratio, rounded half up), which is
    what PaddleGAN's anti-alias downsampling uses to pick rows.
    """
    if out_size == 1:
        return (0,)
    ratio = np.float32(in_size - 1) / np.float32(out_size - 1)
    picks = (np.float32(ratio) * np.arange(out_size, dtype=np.float32)).astype(np.float64) + 0.5
    return tuple(int(i) for i in np.minimum(picks.astype(np.int64), in_size - 1))


def select_rows_cols(x: paddle.Tensor, rows: Sequence[int], cols: Sequence[int]) -> paddle.Tensor:
    """``x[:, :, rows][:, :, :, cols]`` for ``[N, C, H, W]`` with constant index lists."""
    x = paddle.index_select(x, paddle.to_tensor(np.asarray(rows, dtype="int64")), axis=2)
    return paddle.index_select(x, paddle.to_tensor(np.asarray(cols, dtype="int64")), axis=3)


def grid_sample(x: paddle.Tensor, grid: paddle.Tensor, padding_mode: str = "zeros") -> paddle.Tensor:
    """Bilinear ``F.grid_sample`` with ``align_corners=True`` (PaddleGAN's convention).

    Args:
        x: ``[N, C, H, W]``.
        grid: ``[N, h, w, 2]`` sampling positions (x, y) in [-1, 1].
    Returns:
        ``[N, C, h, w]``.

    Paddle 3.3's CPU backward of grid_sample crashes (segmentation fault) when the grid
    needs a gradient but the input does not (e.g. warping the data image in training).
    In that case the input is passed as a gradient-tracking copy; the values are unchanged
    and nothing changes for inference, where no tensor tracks gradients.
    """
    if x.stop_gradient and not grid.stop_gradient:
        x = x.detach()
        x.stop_gradient = False
    return F.grid_sample(x, grid, mode="bilinear", padding_mode=padding_mode, align_corners=True)


# --- anti-aliased downsampling -------------------------------------------------------------
def anti_alias_geometry(scale: float, mobile_net: bool = False) -> Tuple[float, int, int, int]:
    """``(sigma, kernel_size, pad_before, pad_after)`` of the anti-alias blur for ``scale``
    (the mobile variant: a fixed 3x3 kernel, sigma 0.25)."""
    if mobile_net:
        sigma, kernel_size = 0.25, 3
    else:
        sigma = (1 / scale - 1) / 2
        kernel_size = 2 * round(sigma * 4) + 1
    before = kernel_size // 2
    after = before - 1 if kernel_size % 2 == 0 else before
    return sigma, kernel_size, before, after


def gaussian_kernel(channels: int, kernel_size: int, sigma: float) -> np.ndarray:
    """Normalised 2-D gaussian as a depthwise conv weight ``[channels, 1, k, k]`` (float32)."""
    coords = np.arange(kernel_size, dtype=np.float32)
    mean = (kernel_size - 1) / 2
    one_d = np.exp(-(coords - mean) ** 2 / (2 * sigma ** 2 + 1e-9))
    kernel = np.outer(one_d, one_d)
    kernel = kernel / kernel.sum()
    return np.tile(kernel[None, None], [channels, 1, 1, 1]).astype("float32")


class AntiAliasInterpolation2d(nn.Layer):
    """Gaussian blur then subsampling by ``1 / scale`` (integer).

    The kernel is a persistable buffer named ``weight`` (it is part of PaddleGAN's
    checkpoints). Rows and columns are picked as Paddle's nearest resize with
    ``align_corners=True`` picks them (PaddleGAN's choice; the PyTorch original takes every
    ``1/scale``-th row instead).

    Args:
        channels: C of the input.
        scale: output/input size ratio, e.g. 0.25.
        mobile_net: use the small fixed kernel (3x3, sigma 0.25) of the mobile variant.
    """

    def __init__(self, channels: int, scale: float, mobile_net: bool = False) -> None:
        super().__init__()
        sigma, kernel_size, self.ka, self.kb = anti_alias_geometry(scale, mobile_net)
        self.register_buffer("weight", paddle.to_tensor(gaussian_kernel(channels, kernel_size, sigma)))
        self.groups = channels
        self.scale = scale

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        """``x: [N, C, H, W]`` -> ``[N, C, int(H*scale), int(W*scale)]``."""
        if self.scale == 1.0:
            return x
        out = F.pad(x, [self.ka, self.kb, self.ka, self.kb])
        out = F.conv2d(out, weight=self.weight, groups=self.groups)
        h, w = x.shape[2], x.shape[3]
        rows = nearest_align_corners_index(h, int(h * self.scale))
        cols = nearest_align_corners_index(w, int(w * self.scale))
        return select_rows_cols(out, rows, cols)


class ImagePyramide(nn.Layer):
    """Anti-aliased copies of an image at several scales (for the multi-scale losses).

    Args:
        scales: e.g. ``[1, 0.5, 0.25, 0.125]``.
        num_channels: C of the images.
    Returns (forward): ``{"prediction_<scale>": [N, C, H*scale, W*scale]}``.
    """

    def __init__(self, scales: Sequence[float], num_channels: int) -> None:
        super().__init__()
        self.downs = nn.LayerList()
        self.name_list: List[str] = []
        for scale in scales:
            name = str(scale).replace(".", "-")
            self.downs.add_sublayer(name, AntiAliasInterpolation2d(num_channels, scale))
            self.name_list.append(name)

    def forward(self, x: paddle.Tensor) -> dict:
        return {"prediction_" + name.replace("-", "."): down(x)
                for name, down in zip(self.name_list, self.downs)}


# --- convolution blocks --------------------------------------------------------------------
def batch_norm(num_features: int) -> nn.Layer:
    """BatchNorm with PaddleGAN's defaults (momentum 0.9, epsilon 1e-5)."""
    return nn.BatchNorm2D(num_features, momentum=0.9, epsilon=1e-5)


class ResBlock2d(nn.Layer):
    """Pre-activation residual block (BN-ReLU-conv twice), keeps ``[N, F, H, W]``."""

    def __init__(self, in_features: int, kernel_size: IntPair, padding: IntPair) -> None:
        super().__init__()
        self.conv1 = nn.Conv2D(in_features, in_features, kernel_size, padding=padding)
        self.conv2 = nn.Conv2D(in_features, in_features, kernel_size, padding=padding)
        self.norm1 = batch_norm(in_features)
        self.norm2 = batch_norm(in_features)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        out = self.conv1(F.relu(self.norm1(x)))
        out = self.conv2(F.relu(self.norm2(out)))
        return out + x


class MobileResBlock2d(nn.Layer):
    """Inverted-bottleneck residual block of the mobile variant, keeps ``[N, F, H, W]``."""

    def __init__(self, in_features: int, kernel_size: IntPair, padding: IntPair) -> None:
        super().__init__()
        hidden = in_features * 2
        self.conv_pw = nn.Conv2D(in_features, hidden, 1, bias_attr=False)
        self.conv_dw = nn.Conv2D(hidden, hidden, kernel_size, padding=padding, groups=hidden,
                                 bias_attr=False)
        self.conv_pw_linear = nn.Conv2D(hidden, in_features, 1, bias_attr=False)
        self.norm1 = batch_norm(in_features)
        self.norm_pw = batch_norm(hidden)
        self.norm_dw = batch_norm(hidden)
        self.norm_pw_linear = batch_norm(in_features)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        out = self.norm_pw(self.conv_pw(F.relu(self.norm1(x))))
        out = F.relu(self.norm_dw(self.conv_dw(out)))
        out = self.norm_pw_linear(self.conv_pw_linear(out))
        return out + x


class UpBlock2d(nn.Layer):
    """Nearest x2 upsample, conv, BN, ReLU: ``[N, in, H, W] -> [N, out, 2H, 2W]``."""

    def __init__(self, in_features: int, out_features: int, kernel_size: IntPair = 3,
                 padding: IntPair = 1, groups: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2D(in_features, out_features, kernel_size, padding=padding, groups=groups)
        self.norm = batch_norm(out_features)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return F.relu(self.norm(self.conv(upsample_nearest2x(x))))


class MobileUpBlock2d(nn.Layer):
    """Mobile up block: x2 upsample, depthwise conv, BN, ReLU, 1x1 conv, BN, ReLU."""

    def __init__(self, in_features: int, out_features: int, kernel_size: IntPair = 3,
                 padding: IntPair = 1, groups: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2D(in_features, in_features, kernel_size, padding=padding,
                              groups=in_features, bias_attr=False)
        self.conv1 = nn.Conv2D(in_features, out_features, 1, bias_attr=False)
        self.norm = batch_norm(in_features)
        self.norm1 = batch_norm(out_features)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        out = F.relu(self.norm(self.conv(upsample_nearest2x(x))))
        return F.relu(self.norm1(self.conv1(out)))


class DownBlock2d(nn.Layer):
    """Conv, BN, ReLU, 2x2 average pool: ``[N, in, H, W] -> [N, out, H/2, W/2]``."""

    def __init__(self, in_features: int, out_features: int, kernel_size: IntPair = 3,
                 padding: IntPair = 1, groups: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2D(in_features, out_features, kernel_size, padding=padding, groups=groups)
        self.norm = batch_norm(out_features)
        self.pool = nn.AvgPool2D(kernel_size=(2, 2))

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return self.pool(F.relu(self.norm(self.conv(x))))


class MobileDownBlock2d(nn.Layer):
    """Mobile down block: depthwise conv, BN, ReLU, 1x1 conv, BN, ReLU, 2x2 average pool."""

    def __init__(self, in_features: int, out_features: int, kernel_size: IntPair = 3,
                 padding: IntPair = 1, groups: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2D(in_features, in_features, kernel_size, padding=padding,
                              groups=in_features, bias_attr=False)
        self.norm = batch_norm(in_features)
        self.pool = nn.AvgPool2D(kernel_size=(2, 2))
        self.conv1 = nn.Conv2D(in_features, out_features, 1, bias_attr=False)
        self.norm1 = batch_norm(out_features)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        out = F.relu(self.norm(self.conv(x)))
        return self.pool(F.relu(self.norm1(self.conv1(out))))


class SameBlock2d(nn.Layer):
    """Conv, BN, ReLU at constant resolution (no conv bias in the mobile variant)."""

    def __init__(self, in_features: int, out_features: int, groups: int = 1,
                 kernel_size: IntPair = 3, padding: IntPair = 1, mobile_net: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2D(in_features, out_features, kernel_size, padding=padding,
                              groups=groups, bias_attr=None if not mobile_net else False,
                              weight_attr=nn.initializer.KaimingUniform())
        self.norm = batch_norm(out_features)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return F.relu(self.norm(self.conv(x)))


# --- hourglass -----------------------------------------------------------------------------
def _hourglass_width(block_expansion: int, max_features: int, level: int) -> int:
    return min(max_features, block_expansion * (2 ** level))


class Encoder(nn.Layer):
    """Hourglass encoder: ``num_blocks`` down blocks; returns the input and every level."""

    def __init__(self, block_expansion: int, in_features: int, num_blocks: int = 3,
                 max_features: int = 256, mobile_net: bool = False) -> None:
        super().__init__()
        block = MobileDownBlock2d if mobile_net else DownBlock2d
        blocks = []
        for i in range(num_blocks):
            cin = in_features if i == 0 else _hourglass_width(block_expansion, max_features, i)
            cout = _hourglass_width(block_expansion, max_features, i + 1)
            blocks.append(block(cin, cout, kernel_size=3, padding=1))
        self.down_blocks = nn.LayerList(blocks)

    def forward(self, x: paddle.Tensor) -> List[paddle.Tensor]:
        outs = [x]
        for down_block in self.down_blocks:
            outs.append(down_block(outs[-1]))
        return outs


class Decoder(nn.Layer):
    """Hourglass decoder: up blocks, each followed by concatenation of the skip feature.

    ``out_filters = block_expansion + in_features`` channels at the input resolution.
    """

    def __init__(self, block_expansion: int, in_features: int, num_blocks: int = 3,
                 max_features: int = 256, mobile_net: bool = False) -> None:
        super().__init__()
        block = MobileUpBlock2d if mobile_net else UpBlock2d
        blocks = []
        for i in reversed(range(num_blocks)):
            cin = (1 if i == num_blocks - 1 else 2) * _hourglass_width(block_expansion, max_features, i + 1)
            cout = _hourglass_width(block_expansion, max_features, i)
            blocks.append(block(cin, cout, kernel_size=3, padding=1))
        self.up_blocks = nn.LayerList(blocks)
        self.out_filters = block_expansion + in_features

    def forward(self, features: List[paddle.Tensor]) -> paddle.Tensor:
        out = features[-1]
        skips = features[:-1]
        for up_block, skip in zip(self.up_blocks, reversed(skips)):
            out = paddle.concat([up_block(out), skip], axis=1)
        return out


class Hourglass(nn.Layer):
    """U-Net style hourglass: ``[N, in_features, H, W] -> [N, out_filters, H, W]``.

    H and W must be divisible by ``2 ** num_blocks``.
    """

    def __init__(self, block_expansion: int, in_features: int, num_blocks: int = 3,
                 max_features: int = 256, mobile_net: bool = False) -> None:
        super().__init__()
        self.encoder = Encoder(block_expansion, in_features, num_blocks, max_features, mobile_net)
        self.decoder = Decoder(block_expansion, in_features, num_blocks, max_features, mobile_net)
        self.out_filters = self.decoder.out_filters

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return self.decoder(self.encoder(x))
