"""FOMM occlusion-aware generator: warps source features by the dense motion, decodes."""
from __future__ import annotations

import functools
from typing import Any, Dict, Mapping, Optional

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ppgan_app.models.firstorder.dense_motion import DenseMotionNetwork
from ppgan_app.models.firstorder.blocks import (DownBlock2d, MobileDownBlock2d, MobileResBlock2d,
                                           MobileUpBlock2d, ResBlock2d, SameBlock2d, UpBlock2d,
                                           grid_sample, make_coordinate_grid)
from ppgan_app.registries import GENERATORS

KeyPoints = Mapping[str, paddle.Tensor]


@functools.lru_cache(maxsize=16)
def border_blend_weights(h: int, w: int, pad: int) -> np.ndarray:
    """``[h, w]`` float32: 1 inside, falling to 0 over a ``pad``-pixel frame (9x9 gaussian).

    Used in inference mode to fade the deformation to the identity at the image border
    (PaddleGAN's ``inference=True`` behaviour; cv2's blur with an isolated border).
    """
    import cv2  # a dependency of the package; imported here to keep import time low

    inner = np.zeros((h, w), dtype="float32")
    inner[pad:h - pad, pad:w - pad] = 1.0
    return cv2.GaussianBlur(inner, (9, 9), 0.0, borderType=cv2.BORDER_ISOLATED)


@functools.lru_cache(maxsize=16)
def border_frame_mask(h: int, w: int, pad: int) -> np.ndarray:
    """``[h, w]`` float32: 1 on the ``pad``-pixel frame, 0 inside."""
    frame = np.ones((h, w), dtype="float32")
    frame[pad:h - pad, pad:w - pad] = 0.0
    return frame


def _width(block_expansion: int, max_features: int, level: int) -> int:
    return min(max_features, block_expansion * (2 ** level))


@GENERATORS.register()
class OcclusionAwareGenerator(nn.Layer):
    """Encoder - warp (dense motion, occlusion) - bottleneck - decoder.

    Args:
        num_channels: C of the images.
        num_kp: K.
        block_expansion: width of the first encoder level.
        max_features: cap on widths.
        num_down_blocks: encoder depth (features at ``H / 2**num_down_blocks``).
        num_bottleneck_blocks: residual blocks between encoder and decoder.
        estimate_occlusion_map: multiply warped features by a predicted occlusion map.
        dense_motion_params: kwargs of :class:`DenseMotionNetwork` (None: no motion).
        estimate_jacobian: accepted for config compatibility (the keypoints decide).
        inference: PaddleGAN's inference behaviour: the deformation fades to the identity
            and the occlusion map to 1 over a 5-pixel frame (hides border artefacts).
            PaddleGAN's predictor builds its generator with ``inference=True``.
        mobile_net: the distilled mobile variant.

    Forward: ``source_image [N, C, H, W]`` in [0, 1], ``kp_driving`` and ``kp_source``
    (``value [N, K, 2]``, ``jacobian [N, K, 2, 2]``); returns ``prediction [N, C, H, W]`` in
    (0, 1), ``deformed [N, C, H, W]`` (source warped by the deformation), ``mask``,
    ``sparse_deformed``, ``occlusion_map`` and ``deformation`` (see DenseMotionNetwork).
    H and W must be static for export.
    """

    def __init__(self, num_channels: int, num_kp: int, block_expansion: int, max_features: int,
                 num_down_blocks: int, num_bottleneck_blocks: int,
                 estimate_occlusion_map: bool = False,
                 dense_motion_params: Optional[Mapping[str, Any]] = None,
                 estimate_jacobian: bool = False, inference: bool = False,
                 mobile_net: bool = False) -> None:
        super().__init__()
        if dense_motion_params is not None:
            self.dense_motion_network = DenseMotionNetwork(
                num_kp=num_kp, num_channels=num_channels,
                estimate_occlusion_map=estimate_occlusion_map, mobile_net=mobile_net,
                **dense_motion_params)
        else:
            self.dense_motion_network = None
        self.first = self._make_first(num_channels, block_expansion, mobile_net)
        down, up, res = ((MobileDownBlock2d, MobileUpBlock2d, MobileResBlock2d) if mobile_net
                         else (DownBlock2d, UpBlock2d, ResBlock2d))
        self.down_blocks = nn.LayerList([
            down(_width(block_expansion, max_features, i), _width(block_expansion, max_features, i + 1),
                 kernel_size=(3, 3), padding=(1, 1))
            for i in range(num_down_blocks)])
        self.up_blocks = nn.LayerList([
            up(_width(block_expansion, max_features, num_down_blocks - i),
               _width(block_expansion, max_features, num_down_blocks - i - 1),
               kernel_size=(3, 3), padding=(1, 1))
            for i in range(num_down_blocks)])
        self.bottleneck = nn.Sequential()
        bottleneck_width = _width(block_expansion, max_features, num_down_blocks)
        for i in range(num_bottleneck_blocks):
            self.bottleneck.add_sublayer(f"r{i}", res(bottleneck_width, kernel_size=(3, 3),
                                                      padding=(1, 1)))
        self.final = self._make_final(block_expansion, num_channels, mobile_net)
        self.estimate_occlusion_map = estimate_occlusion_map
        self.num_channels = num_channels
        self.inference = inference
        self.pad = 5
        self.mobile_net = mobile_net

    @staticmethod
    def _make_first(num_channels: int, block_expansion: int, mobile_net: bool) -> nn.Layer:
        if not mobile_net:
            return SameBlock2d(num_channels, block_expansion, kernel_size=(7, 7), padding=(3, 3))
        return nn.Sequential(
            SameBlock2d(num_channels, num_channels, kernel_size=3, padding=1, mobile_net=True),
            SameBlock2d(num_channels, num_channels, kernel_size=3, padding=1, mobile_net=True),
            SameBlock2d(num_channels, block_expansion, kernel_size=3, padding=1, mobile_net=True))

    @staticmethod
    def _make_final(block_expansion: int, num_channels: int, mobile_net: bool) -> nn.Layer:
        if not mobile_net:
            return nn.Conv2D(block_expansion, num_channels, kernel_size=(7, 7), padding=(3, 3))
        kaiming = nn.initializer.KaimingUniform
        return nn.Sequential(
            nn.Conv2D(block_expansion, block_expansion, 3, padding=1, weight_attr=kaiming()), nn.ReLU(),
            nn.Conv2D(block_expansion, block_expansion, 3, padding=1, weight_attr=kaiming()), nn.ReLU(),
            nn.Conv2D(block_expansion, num_channels, 3, padding=1, weight_attr=kaiming()))

    def deform_input(self, inp: paddle.Tensor, deformation: paddle.Tensor) -> paddle.Tensor:
        """Sample ``inp [N, C, h, w]`` at ``deformation [N, h', w', 2]`` (resized to h, w)."""
        _, h_old, w_old, _ = deformation.shape
        _, _, h, w = inp.shape
        if (h_old, w_old) != (h, w):
            deformation = F.interpolate(deformation.transpose([0, 3, 1, 2]), size=(h, w),
                                        mode="bilinear", align_corners=False)
            deformation = deformation.transpose([0, 2, 3, 1])
        if self.inference:
            identity = make_coordinate_grid((h, w), inp.dtype).unsqueeze(0)
            blend = paddle.to_tensor(border_blend_weights(h, w, self.pad)).reshape([1, h, w, 1])
            deformation = blend * deformation + (1 - blend) * identity
        return grid_sample(inp, deformation)

    def _fit_occlusion(self, occlusion_map: paddle.Tensor, h: int, w: int) -> paddle.Tensor:
        """Resize the occlusion map to the feature size; in inference, 1 on the border."""
        if tuple(occlusion_map.shape[2:]) != (h, w):
            occlusion_map = F.interpolate(occlusion_map, size=(h, w), mode="bilinear",
                                          align_corners=False)
        if self.inference and not self.mobile_net:
            frame = paddle.to_tensor(border_frame_mask(h, w, self.pad)).reshape([1, 1, h, w])
            occlusion_map = occlusion_map * (1 - frame) + frame
        return occlusion_map

    def forward(self, source_image: paddle.Tensor, kp_driving: KeyPoints,
                kp_source: KeyPoints) -> Dict[str, paddle.Tensor]:
        out = self.first(source_image)
        for down_block in self.down_blocks:
            out = down_block(out)

        output: Dict[str, paddle.Tensor] = {}
        if self.dense_motion_network is not None:
            motion = self.dense_motion_network(source_image=source_image, kp_driving=kp_driving,
                                               kp_source=kp_source)
            output["mask"] = motion["mask"]
            output["sparse_deformed"] = motion["sparse_deformed"]
            output["deformation"] = motion["deformation"]
            out = self.deform_input(out, motion["deformation"])
            if "occlusion_map" in motion:
                occlusion_map = self._fit_occlusion(motion["occlusion_map"], out.shape[2], out.shape[3])
                output["occlusion_map"] = occlusion_map
                out = out * occlusion_map
            output["deformed"] = self.deform_input(source_image, motion["deformation"])

        out = self.bottleneck(out)
        for up_block in self.up_blocks:
            out = up_block(out)
        output["prediction"] = F.sigmoid(self.final(out))
        return output
