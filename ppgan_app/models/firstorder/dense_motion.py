"""FOMM dense motion network: sparse keypoint motions -> dense deformation + occlusion."""
from __future__ import annotations

from typing import Dict, Mapping

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ppgan_app.models.firstorder.blocks import (AntiAliasInterpolation2d, Hourglass, apply_2x2,
                                           grid_sample, invert_2x2, kp2gaussian,
                                           make_coordinate_grid)
from ppgan_app.registries import GENERATORS

KeyPoints = Mapping[str, paddle.Tensor]


def _mobile_head(width: int, out_channels: int) -> nn.Sequential:
    """Three 3x3 convs with ReLU between (the mobile variant's mask/occlusion head)."""
    kaiming = nn.initializer.KaimingUniform
    return nn.Sequential(
        nn.Conv2D(width, width, 3, padding=1, weight_attr=kaiming()), nn.ReLU(),
        nn.Conv2D(width, width, 3, padding=1, weight_attr=kaiming()), nn.ReLU(),
        nn.Conv2D(width, out_channels, 3, padding=1, weight_attr=kaiming()))


@GENERATORS.register()
class DenseMotionNetwork(nn.Layer):
    """Predicts the backward deformation source <- driving from two sets of keypoints.

    Args:
        block_expansion, num_blocks, max_features: hourglass shape.
        num_kp: K.
        num_channels: C of the images.
        estimate_occlusion_map: also predict an occlusion map.
        scale_factor: motion is estimated at this fraction of the image size (0.25).
        kp_variance: variance of the keypoint gaussians.
        mobile_net: the distilled mobile variant.

    Forward (``source_image: [N, C, H, W]`` in [0, 1]; keypoints as returned by
    :class:`KPDetector`), at ``h = H * scale_factor``, ``w = W * scale_factor``:
        ``sparse_deformed``: ``[N, K+1, C, h, w]`` source warped by each keypoint motion
        ``mask``: ``[N, K+1, h, w]`` softmax weights of the motions (0 = background)
        ``deformation``: ``[N, h, w, 2]`` sampling grid in [-1, 1] (x, y)
        ``occlusion_map``: ``[N, 1, h, w]`` in (0, 1) (if estimated)
    """

    def __init__(self, block_expansion: int, num_blocks: int, max_features: int, num_kp: int,
                 num_channels: int, estimate_occlusion_map: bool = False, scale_factor: float = 1,
                 kp_variance: float = 0.01, mobile_net: bool = False) -> None:
        super().__init__()
        self.hourglass = Hourglass(block_expansion=block_expansion,
                                   in_features=(num_kp + 1) * (num_channels + 1),
                                   max_features=max_features, num_blocks=num_blocks,
                                   mobile_net=mobile_net)
        width = self.hourglass.out_filters
        if mobile_net:
            self.mask = _mobile_head(width, num_kp + 1)
        else:
            self.mask = nn.Conv2D(width, num_kp + 1, kernel_size=(7, 7), padding=(3, 3))
        if not estimate_occlusion_map:
            self.occlusion = None
        elif mobile_net:
            self.occlusion = _mobile_head(width, 1)
        else:
            self.occlusion = nn.Conv2D(width, 1, kernel_size=(7, 7), padding=(3, 3))
        self.num_kp = num_kp
        self.scale_factor = scale_factor
        self.kp_variance = kp_variance
        if scale_factor != 1:
            self.down = AntiAliasInterpolation2d(num_channels, scale_factor, mobile_net=mobile_net)

    def create_heatmap_representations(self, spatial_size, kp_driving: KeyPoints,
                                       kp_source: KeyPoints) -> paddle.Tensor:
        """Difference of keypoint gaussians, background channel first: ``[N, K+1, 1, h, w]``."""
        heatmap = (kp2gaussian(kp_driving["value"], spatial_size, self.kp_variance)
                   - kp2gaussian(kp_source["value"], spatial_size, self.kp_variance))
        background = paddle.zeros_like(heatmap[:, :1])
        return paddle.concat([background, heatmap], axis=1).unsqueeze(2)

    def create_sparse_motions(self, spatial_size, kp_driving: KeyPoints,
                              kp_source: KeyPoints) -> paddle.Tensor:
        """First-order motion of each keypoint, identity first: ``[N, K+1, h, w, 2]``.

        ``z -> kp_s + J_s J_d^-1 (z - kp_d)`` per keypoint (eq. 4 of the paper).
        """
        h, w = spatial_size
        identity = make_coordinate_grid((h, w), kp_source["value"].dtype).reshape([1, 1, h, w, 2])
        grid = identity - kp_driving["value"].unsqueeze([2, 3])              # [N,K,h,w,2]
        if "jacobian" in kp_driving:
            jacobian = paddle.matmul(kp_source["jacobian"], invert_2x2(kp_driving["jacobian"]))
            grid = apply_2x2(jacobian.unsqueeze([2, 3]), grid)
        driving_to_source = grid + kp_source["value"].unsqueeze([2, 3])
        background = identity.expand([driving_to_source.shape[0], 1, h, w, 2])
        return paddle.concat([background, driving_to_source], axis=1)

    def create_deformed_source_image(self, source_image: paddle.Tensor,
                                     sparse_motions: paddle.Tensor) -> paddle.Tensor:
        """Source warped by each sparse motion: ``[N, K+1, C, h, w]``."""
        _, c, h, w = source_image.shape
        k1 = self.num_kp + 1
        repeated = source_image.unsqueeze(1).expand([-1, k1, c, h, w]).reshape([-1, c, h, w])
        grids = sparse_motions.reshape([-1, h, w, 2])
        deformed = grid_sample(repeated, grids)
        return deformed.reshape([-1, k1, c, h, w])

    def forward(self, source_image: paddle.Tensor, kp_driving: KeyPoints,
                kp_source: KeyPoints) -> Dict[str, paddle.Tensor]:
        if self.scale_factor != 1:
            source_image = self.down(source_image)
        _, c, h, w = source_image.shape
        heatmaps = self.create_heatmap_representations((h, w), kp_driving, kp_source)
        sparse_motion = self.create_sparse_motions((h, w), kp_driving, kp_source)
        deformed_source = self.create_deformed_source_image(source_image, sparse_motion)
        out = {"sparse_deformed": deformed_source}

        features = paddle.concat([heatmaps, deformed_source], axis=2)
        features = features.reshape([-1, (self.num_kp + 1) * (c + 1), h, w])
        prediction = self.hourglass(features)

        mask = F.softmax(self.mask(prediction), axis=1)                      # [N,K+1,h,w]
        out["mask"] = mask
        out["deformation"] = (sparse_motion * mask.unsqueeze(-1)).sum(axis=1)  # [N,h,w,2]
        if self.occlusion is not None:
            out["occlusion_map"] = F.sigmoid(self.occlusion(prediction))
        return out
