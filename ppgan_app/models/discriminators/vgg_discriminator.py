"""ESRGAN's VGG-style discriminator with PaddleGAN's parameter names (``VGGDiscriminator128``)."""
from __future__ import annotations

import paddle
from paddle import nn

from ppgan_app.registries import DISCRIMINATORS


@DISCRIMINATORS.register
class VGGDiscriminator128(nn.Layer):
    """``[N, C, S, S]`` image -> ``[N, 1]`` logit; S = ``input_size`` (128 in ESRGAN).

    Five stages, each a 3x3 conv and a stride-2 4x4 conv (batch norm and leaky ReLU after all
    but the first conv), widths ``num_feat * (1, 2, 4, 8, 8)``; then linear 100 -> linear 1.
    Parameter names ``conv<i>_<j>``, ``bn<i>_<j>``, ``linear1``, ``linear2`` are PaddleGAN's.

    Args:
        in_channels: image channels; num_feat: width of the first stage;
        input_size: image side, a multiple of 32 (PaddleGAN fixes it to 128).
    """

    def __init__(self, in_channels: int = 3, num_feat: int = 64, input_size: int = 128) -> None:
        super().__init__()
        if input_size % 32:
            raise ValueError(f"VGGDiscriminator128 input_size must be a multiple of 32, got {input_size}")
        self.input_size = input_size
        widths = [num_feat, num_feat * 2, num_feat * 4, num_feat * 8, num_feat * 8]
        self.conv0_0 = nn.Conv2D(in_channels, num_feat, 3, 1, 1)
        previous = num_feat
        for i, width in enumerate(widths):
            if i > 0:
                setattr(self, f"conv{i}_0", nn.Conv2D(previous, width, 3, 1, 1, bias_attr=False))
                setattr(self, f"bn{i}_0", nn.BatchNorm2D(width))
            setattr(self, f"conv{i}_1", nn.Conv2D(width, width, 4, 2, 1, bias_attr=False))
            setattr(self, f"bn{i}_1", nn.BatchNorm2D(width))
            previous = width
        side = input_size // 32
        self.linear1 = nn.Linear(num_feat * 8 * side * side, 100)
        self.linear2 = nn.Linear(100, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        if x.shape[2] != self.input_size or x.shape[3] != self.input_size:
            raise ValueError(f"VGGDiscriminator128 takes {self.input_size}x{self.input_size} images, "
                             f"got {x.shape}; set gt_size to {self.input_size} or input_size to match")
        feat = self.lrelu(self.conv0_0(x))
        for i in range(5):
            if i > 0:
                feat = self.lrelu(getattr(self, f"bn{i}_0")(getattr(self, f"conv{i}_0")(feat)))
            feat = self.lrelu(getattr(self, f"bn{i}_1")(getattr(self, f"conv{i}_1")(feat)))
        feat = self.lrelu(self.linear1(feat.flatten(1)))
        return self.linear2(feat)
