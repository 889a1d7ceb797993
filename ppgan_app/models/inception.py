"""Inception-v3 as FID uses it (the TF 2015 graph's blocks), laid out for PaddleGAN's weights.

PaddleGAN publishes these weights as ``InceptionV3.pdparams`` (converted from pytorch-fid's
FID network); the layer names below (``Conv2d_1a_3x3``, ``Mixed_5b.branch1x1``, each a conv
without bias followed by batch norm with eps 1e-3 and ReLU) are the keys of that file. The FID
variants of the blocks matter for parity: average pools exclude the padding, and the last block
pools by maximum. ``fc`` (the 1008-way classifier, needed only for the Inception Score) exists
when ``n_class`` is given; PaddleGAN's FID network has none.

Input: ``[N, 3, H, W]`` in [-1, 1] (grey images are repeated to 3 channels by the caller),
resized to 299x299 bilinearly (``input_size``). Output of ``features``: ``[N, 2048]`` pool features (>= 0).
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import paddle
import paddle.nn.functional as F
from paddle import nn

Size = Union[int, Tuple[int, int]]
INPUT_SIZE = 299
FEATURE_DIM = 2048


class ConvBN(nn.Layer):
    """Conv (no bias) -> BatchNorm (eps 1e-3) -> ReLU; parameters ``conv.weight``, ``bn.*``."""

    def __init__(self, cin: int, cout: int, kernel: Size, stride: int = 1, padding: Size = 0) -> None:
        super().__init__()
        self.conv = nn.Conv2D(cin, cout, kernel, stride=stride, padding=padding, bias_attr=False)
        self.bn = nn.BatchNorm2D(cout, epsilon=1e-3)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _avg_pool(x: paddle.Tensor) -> paddle.Tensor:
    """3x3, stride 1, padding excluded from the mean (the FID graph's average pool)."""
    return F.avg_pool2d(x, 3, stride=1, padding=1, exclusive=True)


def _max_pool(x: paddle.Tensor, stride: int = 2, padding: int = 0) -> paddle.Tensor:
    return F.max_pool2d(x, 3, stride=stride, padding=padding)


def _chain(x: paddle.Tensor, layers: Sequence[nn.Layer]) -> paddle.Tensor:
    for layer in layers:
        x = layer(x)
    return x


class MixedA(nn.Layer):
    """35x35 block (Mixed_5b/c/d): 1x1, 5x5, double 3x3 and pooled branches -> 224 + pool_features."""

    def __init__(self, cin: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = ConvBN(cin, 64, 1)
        self.branch5x5_1, self.branch5x5_2 = ConvBN(cin, 48, 1), ConvBN(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = ConvBN(cin, 64, 1)
        self.branch3x3dbl_2 = ConvBN(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = ConvBN(96, 96, 3, padding=1)
        self.branch_pool = ConvBN(cin, pool_features, 1)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return paddle.concat([
            self.branch1x1(x),
            _chain(x, [self.branch5x5_1, self.branch5x5_2]),
            _chain(x, [self.branch3x3dbl_1, self.branch3x3dbl_2, self.branch3x3dbl_3]),
            self.branch_pool(_avg_pool(x))], axis=1)


class MixedB(nn.Layer):
    """35 -> 17 reduction (Mixed_6a): 384 + 96 + cin channels."""

    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3 = ConvBN(cin, 384, 3, stride=2)
        self.branch3x3dbl_1 = ConvBN(cin, 64, 1)
        self.branch3x3dbl_2 = ConvBN(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = ConvBN(96, 96, 3, stride=2)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return paddle.concat([
            self.branch3x3(x),
            _chain(x, [self.branch3x3dbl_1, self.branch3x3dbl_2, self.branch3x3dbl_3]),
            _max_pool(x)], axis=1)


class MixedC(nn.Layer):
    """17x17 block (Mixed_6b..e) with factorised 7x7 convolutions of width ``c7`` -> 768."""

    def __init__(self, cin: int, c7: int) -> None:
        super().__init__()
        row, col = {"kernel": (1, 7), "padding": (0, 3)}, {"kernel": (7, 1), "padding": (3, 0)}
        self.branch1x1 = ConvBN(cin, 192, 1)
        self.branch7x7_1 = ConvBN(cin, c7, 1)
        self.branch7x7_2 = ConvBN(c7, c7, **row)
        self.branch7x7_3 = ConvBN(c7, 192, **col)
        self.branch7x7dbl_1 = ConvBN(cin, c7, 1)
        self.branch7x7dbl_2 = ConvBN(c7, c7, **col)
        self.branch7x7dbl_3 = ConvBN(c7, c7, **row)
        self.branch7x7dbl_4 = ConvBN(c7, c7, **col)
        self.branch7x7dbl_5 = ConvBN(c7, 192, **row)
        self.branch_pool = ConvBN(cin, 192, 1)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return paddle.concat([
            self.branch1x1(x),
            _chain(x, [self.branch7x7_1, self.branch7x7_2, self.branch7x7_3]),
            _chain(x, [self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4,
                       self.branch7x7dbl_5]),
            self.branch_pool(_avg_pool(x))], axis=1)


class MixedD(nn.Layer):
    """17 -> 8 reduction (Mixed_7a): 320 + 192 + cin channels."""

    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3_1, self.branch3x3_2 = ConvBN(cin, 192, 1), ConvBN(192, 320, 3, stride=2)
        self.branch7x7x3_1 = ConvBN(cin, 192, 1)
        self.branch7x7x3_2 = ConvBN(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = ConvBN(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = ConvBN(192, 192, 3, stride=2)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return paddle.concat([
            _chain(x, [self.branch3x3_1, self.branch3x3_2]),
            _chain(x, [self.branch7x7x3_1, self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4]),
            _max_pool(x)], axis=1)


class MixedE(nn.Layer):
    """8x8 block (Mixed_7b average-pooled, Mixed_7c max-pooled) -> 2048 channels."""

    def __init__(self, cin: int, max_pool: bool) -> None:
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = ConvBN(cin, 320, 1)
        self.branch3x3_1 = ConvBN(cin, 384, 1)
        self.branch3x3_2a = ConvBN(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = ConvBN(cin, 448, 1)
        self.branch3x3dbl_2 = ConvBN(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = ConvBN(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = ConvBN(cin, 192, 1)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        a = self.branch3x3_1(x)
        b = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = _max_pool(x, stride=1, padding=1) if self.max_pool else _avg_pool(x)
        return paddle.concat([
            self.branch1x1(x),
            self.branch3x3_2a(a), self.branch3x3_2b(a),
            self.branch3x3dbl_3a(b), self.branch3x3dbl_3b(b),
            self.branch_pool(pooled)], axis=1)


class FIDInceptionV3(nn.Layer):
    """``[N, 3, H, W]`` in [-1, 1] -> pool features ``[N, 2048]`` (and logits with ``n_class``).

    Args:
        n_class: size of the ``fc`` classifier on the pool features (1008 in the TF graph), or
            None for the feature network alone (PaddleGAN's FID weights).
        input_size: side inputs are resized to; 299 for FID (smaller sides, >= 75, only make
            tests fast: their numbers are not FID).
    """

    def __init__(self, n_class: Optional[int] = None, input_size: int = INPUT_SIZE) -> None:
        super().__init__()
        if input_size < 75:
            raise ValueError(f"input_size must be >= 75, got {input_size}")
        self.input_size = int(input_size)
        self.Conv2d_1a_3x3 = ConvBN(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = ConvBN(32, 32, 3)
        self.Conv2d_2b_3x3 = ConvBN(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = ConvBN(64, 80, 1)
        self.Conv2d_4a_3x3 = ConvBN(80, 192, 3)
        self.Mixed_5b, self.Mixed_5c, self.Mixed_5d = MixedA(192, 32), MixedA(256, 64), MixedA(288, 64)
        self.Mixed_6a = MixedB(288)
        self.Mixed_6b, self.Mixed_6c = MixedC(768, 128), MixedC(768, 160)
        self.Mixed_6d, self.Mixed_6e = MixedC(768, 160), MixedC(768, 192)
        self.Mixed_7a = MixedD(768)
        self.Mixed_7b, self.Mixed_7c = MixedE(1280, max_pool=False), MixedE(2048, max_pool=True)
        self.n_class = n_class
        self.fc = nn.Linear(FEATURE_DIM, n_class) if n_class else None

    def features(self, x: paddle.Tensor) -> paddle.Tensor:
        """``[N, 3, H, W]`` in [-1, 1] -> ``[N, 2048]``."""
        if x.shape[1] != 3:
            raise ValueError(f"FIDInceptionV3 takes 3-channel images, got shape {x.shape}")
        if x.shape[2] != self.input_size or x.shape[3] != self.input_size:
            x = F.interpolate(x, size=[self.input_size] * 2, mode="bilinear", align_corners=False)
        x = _chain(x, [self.Conv2d_1a_3x3, self.Conv2d_2a_3x3, self.Conv2d_2b_3x3])
        x = _chain(_max_pool(x), [self.Conv2d_3b_1x1, self.Conv2d_4a_3x3])
        x = _chain(_max_pool(x), [self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b,
                                  self.Mixed_6c, self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b,
                                  self.Mixed_7c])
        return x.mean(axis=[2, 3])

    def forward(self, x: paddle.Tensor) -> Tuple[paddle.Tensor, Optional[paddle.Tensor]]:
        """``(features [N, 2048], logits [N, n_class] or None)``."""
        feats = self.features(x)
        return feats, (self.fc(feats) if self.fc is not None else None)
