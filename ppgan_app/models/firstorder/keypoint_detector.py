"""FOMM keypoint detector: image -> K keypoints and their local 2x2 jacobians."""
from __future__ import annotations

from typing import Dict

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ppgan_app.models.firstorder.blocks import AntiAliasInterpolation2d, Hourglass, make_coordinate_grid
from ppgan_app.registries import GENERATORS


def _head(in_channels: int, out_channels: int, pad: int, mobile_net: bool,
          kaiming: bool) -> nn.Layer:
    """One 7x7 conv, or three 3x3 convs (no activation between) in the mobile variant."""
    if not mobile_net:
        return nn.Conv2D(in_channels, out_channels, kernel_size=(7, 7), padding=pad)
    attr = (lambda: nn.initializer.KaimingUniform()) if kaiming else (lambda: None)
    return nn.Sequential(
        nn.Conv2D(in_channels, in_channels, 3, padding=pad, weight_attr=attr()),
        nn.Conv2D(in_channels, in_channels, 3, padding=pad, weight_attr=attr()),
        nn.Conv2D(in_channels, out_channels, 3, padding=pad, weight_attr=attr()))


@GENERATORS.register()
class KPDetector(nn.Layer):
    """Unsupervised keypoint detector (hourglass + softmax heatmaps).

    Args:
        block_expansion: hourglass width of the first level.
        num_kp: K, number of keypoints.
        num_channels: C of the input image.
        max_features: cap on hourglass widths.
        num_blocks: hourglass depth; the downsampled input size must divide ``2**num_blocks``.
        temperature: softmax temperature of the heatmaps.
        estimate_jacobian: also predict a 2x2 jacobian per keypoint.
        scale_factor: the image is anti-alias downsampled by this factor first (0.25).
        single_jacobian_map: one jacobian map shared by all keypoints.
        pad: padding of the heads (0 in every published model: the heatmaps are 6 px
            smaller than the downsampled image).
        mobile_net: the distilled mobile variant.

    Forward:
        x: ``[N, C, H, W]`` float32 in [0, 1].
        returns ``{"value": [N, K, 2] in [-1, 1], "jacobian": [N, K, 2, 2]}``.
    """

    def __init__(self, block_expansion: int, num_kp: int, num_channels: int, max_features: int,
                 num_blocks: int, temperature: float, estimate_jacobian: bool = False,
                 scale_factor: float = 1, single_jacobian_map: bool = False, pad: int = 0,
                 mobile_net: bool = False) -> None:
        super().__init__()
        self.predictor = Hourglass(block_expansion, in_features=num_channels,
                                   max_features=max_features, num_blocks=num_blocks,
                                   mobile_net=mobile_net)
        width = self.predictor.out_filters
        self.kp = _head(width, num_kp, pad, mobile_net, kaiming=True)
        if estimate_jacobian:
            self.num_jacobian_maps = 1 if single_jacobian_map else num_kp
            self.jacobian = _head(width, 4 * self.num_jacobian_maps, pad, mobile_net, kaiming=False)
            self._init_jacobian_identity()
        else:
            self.jacobian = None
        self.temperature = temperature
        self.scale_factor = scale_factor
        if scale_factor != 1:
            self.down = AntiAliasInterpolation2d(num_channels, scale_factor, mobile_net=mobile_net)

    def _init_jacobian_identity(self) -> None:
        """Start every jacobian at the identity: zero weights, bias (1, 0, 0, 1)."""
        convs = list(self.jacobian) if isinstance(self.jacobian, nn.Sequential) else [self.jacobian]
        for conv in convs:
            conv.weight.set_value(paddle.zeros(conv.weight.shape, dtype="float32"))
        convs[-1].bias.set_value(
            paddle.to_tensor([1.0, 0.0, 0.0, 1.0] * self.num_jacobian_maps, dtype="float32"))

    @staticmethod
    def gaussian2kp(heatmap: paddle.Tensor) -> paddle.Tensor:
        """Expected coordinates of normalised heatmaps ``[N, K, h, w]`` -> ``[N, K, 2]``."""
        grid = make_coordinate_grid(heatmap.shape[2:], heatmap.dtype).unsqueeze([0, 1])
        return (heatmap.unsqueeze(-1) * grid).sum(axis=(2, 3))

    def forward(self, x: paddle.Tensor) -> Dict[str, paddle.Tensor]:
        if self.scale_factor != 1:
            x = self.down(x)
        feature_map = self.predictor(x)
        prediction = self.kp(feature_map)                       # [N, K, h, w]
        n, k, h, w = prediction.shape
        heatmap = F.softmax(prediction.reshape([-1, k, h * w]) / self.temperature, axis=2)
        heatmap = heatmap.reshape([-1, k, h, w])
        out = {"value": self.gaussian2kp(heatmap)}
        if self.jacobian is not None:
            jacobian_map = self.jacobian(feature_map).reshape([-1, self.num_jacobian_maps, 4, h, w])
            jacobian = (heatmap.unsqueeze(2) * jacobian_map).reshape([-1, k, 4, h * w]).sum(-1)
            out["jacobian"] = jacobian.reshape([-1, k, 2, 2])
        return out
