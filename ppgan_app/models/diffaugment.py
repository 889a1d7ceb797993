"""Differentiable augmentation for data-efficient GAN training (DiffAugment; Zhao et al., 2020).

The same random transform family is applied to every image D sees, real and generated, in
both the D step and the G step; gradients flow through it to G. Images ``[N, C, H, W]`` in
[-1, 1]; randomness comes from Paddle's global generator (seeded by the engine).

Policies (comma-separated, applied in this order): ``brightness`` (add U(-0.5, 0.5)),
``contrast`` (scale around the image mean by U(0.5, 1.5)), ``translation`` (shift by up to
1/8 of the size, zero padding), ``cutout`` (zero a random square of half the size).
"""
from __future__ import annotations

from typing import Callable, Dict, List, Sequence, Union

import paddle
import paddle.nn.functional as F

TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


def brightness(x: paddle.Tensor) -> paddle.Tensor:
    return x + (paddle.rand([x.shape[0], 1, 1, 1], dtype=x.dtype) - 0.5)


def contrast(x: paddle.Tensor) -> paddle.Tensor:
    mean = x.mean(axis=[1, 2, 3], keepdim=True)
    return (x - mean) * (paddle.rand([x.shape[0], 1, 1, 1], dtype=x.dtype) + 0.5) + mean


def translation(x: paddle.Tensor, ratio: float = TRANSLATION_RATIO) -> paddle.Tensor:
    """Shift each image by a random whole number of pixels in [-ratio*size, ratio*size]."""
    n, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = paddle.randint(-sy, sy + 1, [n, 1, 1]).astype(x.dtype)
    dx = paddle.randint(-sx, sx + 1, [n, 1, 1]).astype(x.dtype)
    # sampling grid at pixel centres (align_corners=False), moved by whole pixels: nearest
    # sampling copies pixels exactly and reads zeros outside the image
    ys = (2 * paddle.arange(h, dtype=x.dtype) + 1) / h - 1
    xs = (2 * paddle.arange(w, dtype=x.dtype) + 1) / w - 1
    gy = ys.reshape([1, h, 1]) - 2 * dy / h
    gx = xs.reshape([1, 1, w]) - 2 * dx / w
    grid = paddle.stack([gx.expand([n, h, w]), gy.expand([n, h, w])], axis=-1)
    return F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def cutout(x: paddle.Tensor, ratio: float = CUTOUT_RATIO) -> paddle.Tensor:
    """Zero one random ``ratio*H x ratio*W`` square per image (it may stick out of the image)."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = paddle.randint(0, h + (1 - ch % 2), [n, 1, 1]) - ch // 2
    left = paddle.randint(0, w + (1 - cw % 2), [n, 1, 1]) - cw // 2
    rows = paddle.arange(h).reshape([1, h, 1])
    cols = paddle.arange(w).reshape([1, 1, w])
    inside = (rows >= top) & (rows < top + ch) & (cols >= left) & (cols < left + cw)
    return x * (1 - inside.astype(x.dtype)).unsqueeze(1)


POLICIES: Dict[str, Callable[[paddle.Tensor], paddle.Tensor]] = {
    "brightness": brightness, "contrast": contrast, "translation": translation, "cutout": cutout}


def parse_policy(policy: Union[str, Sequence[str], None]) -> List[str]:
    """``"translation,cutout"`` or a list -> validated list of policy names (empty for none)."""
    if not policy:
        return []
    names = [p.strip() for p in policy.split(",")] if isinstance(policy, str) else [str(p) for p in policy]
    unknown = [p for p in names if p not in POLICIES]
    if unknown:
        raise ValueError(f"unknown DiffAugment policies {unknown}; choose from {list(POLICIES)}")
    return names


def diff_augment(x: paddle.Tensor, policy: Sequence[str]) -> paddle.Tensor:
    """Apply each named transform of ``policy`` (validated by ``parse_policy``) to ``x``."""
    for name in policy:
        x = POLICIES[name](x)
    return x
