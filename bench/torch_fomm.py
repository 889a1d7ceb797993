"""PyTorch versions of the kit's FOMM inference networks, for the ``torch`` rows of the benches.

An optional comparison, never a dependency of the kit: only the benches import this module,
and only when ``torch`` is installed. The networks are written from the kit's Paddle modules
(:mod:`ppgan_app.models.firstorder`), both variants the kit benches (``firstorder_vox_256``
and the mobile ``firstorder_vox_mobile_256``: depthwise-separable blocks, 3-conv heads, a 3x3
anti-alias kernel), with the kit's numerical conventions so that the same weights give the
same frames (see :func:`parity`):

* ``grid_sample`` bilinear with ``align_corners=True``;
* anti-alias downsampling picks rows and columns as Paddle's nearest resize with
  ``align_corners=True`` does (:func:`~ppgan_app.models.firstorder.blocks.nearest_align_corners_index`);
* the generator's inference border (deformation faded to the identity and, full model only,
  occlusion set to 1 over a 5-pixel frame), as PaddleGAN's predictor builds it.

Module attribute names are the kit's (PaddleGAN's), so a kit state dict loads key for key; only
BatchNorm statistics are renamed (``_mean``/``_variance`` -> ``running_mean``/``running_var``).
The FOMM networks hold no ``Linear`` layer; :func:`load_paddle_state` would transpose one
(Paddle stores ``[in, out]``, PyTorch ``[out, in]``).

Inputs and outputs: images ``[N, 3, H, W]`` float32 in [0, 1]; keypoints ``value [N, K, 2]`` in
[-1, 1] and ``jacobian [N, K, 2, 2]``; the generator returns the prediction ``[N, 3, H, W]`` in
(0, 1). As the kit's graph engines do, :class:`TorchEngine` encodes each source image once
(the generator's ``first`` + ``down_blocks``) and runs the rest per driving frame.
"""
from __future__ import annotations

import time
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ppgan_app.inference.source_cache import SourceCache
from ppgan_app.models.firstorder.blocks import (anti_alias_geometry, gaussian_kernel,
                                                 nearest_align_corners_index)
from ppgan_app.models.firstorder.generator import border_blend_weights, border_frame_mask

Tensor = torch.Tensor
BORDER_PAD = 5          # the generator's inference border, pixels (the kit's ``pad``)


# --- coordinates and 2x2 algebra -----------------------------------------------------------
def coordinate_grid(h: int, w: int) -> Tensor:
    """``[h, w, 2]`` pixel-centre coordinates (x, y) in [-1, 1]."""
    x = 2 * (torch.arange(w, dtype=torch.float32) / (w - 1)) - 1
    y = 2 * (torch.arange(h, dtype=torch.float32) / (h - 1)) - 1
    return torch.stack([x.view(1, w).expand(h, w), y.view(h, 1).expand(h, w)], dim=2)


def kp2gaussian(value: Tensor, h: int, w: int, variance: float) -> Tensor:
    """Gaussians ``[N, K, h, w]`` in (0, 1] centred on keypoints ``value [N, K, 2]``."""
    diff = coordinate_grid(h, w).view(1, 1, h, w, 2) - value[:, :, None, None, :]
    return torch.exp(-0.5 * (diff ** 2).sum(-1) / variance)


def invert_2x2(m: Tensor) -> Tensor:
    """Analytic inverse of matrices ``[..., 2, 2]`` (as the kit computes it)."""
    a, b, c, d = m[..., 0, 0], m[..., 0, 1], m[..., 1, 0], m[..., 1, 1]
    det = (a * d - b * c)[..., None, None]
    return torch.stack([torch.stack([d, -b], -1), torch.stack([-c, a], -1)], -2) / det


def apply_2x2(m: Tensor, v: Tensor) -> Tensor:
    """``m @ v`` for matrices ``[..., 2, 2]`` and vectors ``[..., 2]`` (broadcasting)."""
    return (m * v.unsqueeze(-2)).sum(-1)


def grid_sample(x: Tensor, grid: Tensor) -> Tensor:
    """Bilinear sampling of ``x [N, C, H, W]`` at ``grid [N, h, w, 2]`` -> ``[N, C, h, w]``."""
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def check_side(images: Tensor, size: int) -> None:
    """Raise ``ValueError`` unless ``images`` is ``[N, C, size, size]`` (the nets' constants
    are built for one frame side, as the kit's exported graphs are)."""
    if images.dim() != 4 or tuple(images.shape[2:]) != (size, size):
        raise ValueError(f"images must be [N, C, {size}, {size}], got {tuple(images.shape)}")


def upsample2x(x: Tensor) -> Tensor:
    """Nearest x2 upsampling ``[N, C, H, W] -> [N, C, 2H, 2W]``."""
    return F.interpolate(x, scale_factor=2, mode="nearest")


# --- blocks ----------------------------------------------------------------------------------
class AntiAliasInterpolation2d(nn.Module):
    """Gaussian blur then the kit's row/column picks: ``[N, C, S, S] -> [N, C, S*s, S*s]``
    for inputs of side ``size`` (the picks are constants, so ``torch.compile`` sees no numpy)."""

    def __init__(self, channels: int, scale: float, size: int, mobile_net: bool = False) -> None:
        super().__init__()
        sigma, kernel_size, self.ka, self.kb = anti_alias_geometry(scale, mobile_net)
        self.register_buffer("weight", torch.from_numpy(gaussian_kernel(channels, kernel_size, sigma)))
        self.groups = channels
        picks = nearest_align_corners_index(size, int(size * scale))
        self.register_buffer("picks", torch.tensor(picks, dtype=torch.int64), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        out = F.conv2d(F.pad(x, (self.ka, self.kb, self.ka, self.kb)), self.weight,
                       groups=self.groups)
        return out.index_select(2, self.picks).index_select(3, self.picks)


def batch_norm(features: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(features, eps=1e-5)


def conv(cin: int, cout: int, kernel: int, padding: int, groups: int = 1,
         bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel, padding=padding, groups=groups, bias=bias)


class ResBlock2d(nn.Module):
    """BN-ReLU-conv twice plus the input; keeps ``[N, F, H, W]``."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.conv1, self.conv2 = conv(features, features, 3, 1), conv(features, features, 3, 1)
        self.norm1, self.norm2 = batch_norm(features), batch_norm(features)

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv1(F.relu(self.norm1(x)))
        return self.conv2(F.relu(self.norm2(out))) + x


class MobileResBlock2d(nn.Module):
    """The mobile inverted bottleneck (1x1 up, depthwise 3x3, 1x1 down) plus the input."""

    def __init__(self, features: int) -> None:
        super().__init__()
        hidden = 2 * features
        self.conv_pw = conv(features, hidden, 1, 0, bias=False)
        self.conv_dw = conv(hidden, hidden, 3, 1, groups=hidden, bias=False)
        self.conv_pw_linear = conv(hidden, features, 1, 0, bias=False)
        self.norm1, self.norm_pw_linear = batch_norm(features), batch_norm(features)
        self.norm_pw, self.norm_dw = batch_norm(hidden), batch_norm(hidden)

    def forward(self, x: Tensor) -> Tensor:
        out = self.norm_pw(self.conv_pw(F.relu(self.norm1(x))))
        out = F.relu(self.norm_dw(self.conv_dw(out)))
        return self.norm_pw_linear(self.conv_pw_linear(out)) + x


class UpBlock2d(nn.Module):
    """x2 upsample, 3x3 conv, BN, ReLU: ``[N, in, H, W] -> [N, out, 2H, 2W]``."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv, self.norm = conv(cin, cout, 3, 1), batch_norm(cout)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.norm(self.conv(upsample2x(x))))


class SeparableConv(nn.Module):
    """Depthwise 3x3, BN, ReLU, 1x1 conv, BN, ReLU (the mobile blocks' body; the kit's names)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = conv(cin, cin, 3, 1, groups=cin, bias=False)
        self.conv1 = conv(cin, cout, 1, 0, bias=False)
        self.norm, self.norm1 = batch_norm(cin), batch_norm(cout)

    def separable(self, x: Tensor) -> Tensor:
        return F.relu(self.norm1(self.conv1(F.relu(self.norm(self.conv(x))))))


class MobileUpBlock2d(SeparableConv):
    """x2 upsample, then the separable body."""

    def forward(self, x: Tensor) -> Tensor:
        return self.separable(upsample2x(x))


class DownBlock2d(nn.Module):
    """3x3 conv, BN, ReLU, 2x2 average pool: ``[N, in, H, W] -> [N, out, H/2, W/2]``."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv, self.norm = conv(cin, cout, 3, 1), batch_norm(cout)

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(F.relu(self.norm(self.conv(x))), 2)


class MobileDownBlock2d(SeparableConv):
    """The separable body, then a 2x2 average pool."""

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(self.separable(x), 2)


class SameBlock2d(nn.Module):
    """Conv, BN, ReLU at constant resolution (no conv bias in the mobile variant)."""

    def __init__(self, cin: int, cout: int, kernel: int, padding: int, bias: bool = True) -> None:
        super().__init__()
        self.conv, self.norm = conv(cin, cout, kernel, padding, bias=bias), batch_norm(cout)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.norm(self.conv(x)))


def width(expansion: int, cap: int, level: int) -> int:
    """Channels of an hourglass or generator level."""
    return min(cap, expansion * 2 ** level)


class Encoder(nn.Module):
    """Hourglass encoder: the input and the output of each down block (halving H and W)."""

    def __init__(self, expansion: int, cin: int, blocks: int, cap: int, mobile_net: bool) -> None:
        super().__init__()
        block = MobileDownBlock2d if mobile_net else DownBlock2d
        self.down_blocks = nn.ModuleList(
            block(cin if i == 0 else width(expansion, cap, i), width(expansion, cap, i + 1))
            for i in range(blocks))

    def forward(self, x: Tensor) -> List[Tensor]:
        outs = [x]
        for down in self.down_blocks:
            outs.append(down(outs[-1]))
        return outs


class Decoder(nn.Module):
    """Hourglass decoder: up blocks, each output concatenated with the skip of its level."""

    def __init__(self, expansion: int, cin: int, blocks: int, cap: int, mobile_net: bool) -> None:
        super().__init__()
        block = MobileUpBlock2d if mobile_net else UpBlock2d
        self.up_blocks = nn.ModuleList(
            block((1 if i == blocks - 1 else 2) * width(expansion, cap, i + 1),
                  width(expansion, cap, i))
            for i in reversed(range(blocks)))

    def forward(self, features: List[Tensor]) -> Tensor:
        out = features[-1]
        for up, skip in zip(self.up_blocks, reversed(features[:-1])):
            out = torch.cat([up(out), skip], dim=1)
        return out


class Hourglass(nn.Module):
    """U-Net: ``[N, cin, H, W] -> [N, expansion + cin, H, W]``."""

    def __init__(self, expansion: int, cin: int, blocks: int, cap: int, mobile_net: bool) -> None:
        super().__init__()
        self.encoder = Encoder(expansion, cin, blocks, cap, mobile_net)
        self.decoder = Decoder(expansion, cin, blocks, cap, mobile_net)
        self.out_filters = expansion + cin

    def forward(self, x: Tensor) -> Tensor:
        return self.decoder(self.encoder(x))


def head(cin: int, cout: int, padding: int, mobile_net: bool, relu: bool) -> nn.Module:
    """A 7x7 conv, or (mobile) three 3x3 convs, with ReLU between them when ``relu``."""
    if not mobile_net:
        return conv(cin, cout, 7, padding)
    layers: List[nn.Module] = [conv(cin, cin, 3, padding)]
    layers += [nn.ReLU()] if relu else []
    layers += [conv(cin, cin, 3, padding)]
    layers += [nn.ReLU()] if relu else []
    return nn.Sequential(*layers, conv(cin, cout, 3, padding))


# --- the three networks ----------------------------------------------------------------------
class KPDetector(nn.Module):
    """Images ``[N, C, S, S]`` in [0, 1] -> ``(value [N, K, 2], jacobian [N, K, 2, 2] or None)``.

    Takes the image side ``image_size`` and the kit's ``kp_detector_cfg`` and ``common_params``
    as keyword arguments.
    """

    def __init__(self, image_size: int, block_expansion: int, num_kp: int, num_channels: int,
                 max_features: int, num_blocks: int, temperature: float,
                 estimate_jacobian: bool = False, scale_factor: float = 1,
                 single_jacobian_map: bool = False, pad: int = 0,
                 mobile_net: bool = False) -> None:
        super().__init__()
        self.predictor = Hourglass(block_expansion, num_channels, num_blocks, max_features,
                                   mobile_net)
        out = self.predictor.out_filters
        self.kp = head(out, num_kp, pad, mobile_net, relu=False)
        self.num_jacobian_maps = 1 if single_jacobian_map else num_kp
        self.jacobian = (head(out, 4 * self.num_jacobian_maps, pad, mobile_net, relu=False)
                         if estimate_jacobian else None)
        self.temperature = temperature
        self.scale_factor = scale_factor
        self.image_size = image_size
        if scale_factor != 1:
            self.down = AntiAliasInterpolation2d(num_channels, scale_factor, image_size, mobile_net)

    def forward(self, x: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
        check_side(x, self.image_size)
        if self.scale_factor != 1:
            x = self.down(x)
        feature_map = self.predictor(x)
        prediction = self.kp(feature_map)
        n, k, h, w = prediction.shape
        heatmap = F.softmax(prediction.view(n, k, h * w) / self.temperature, dim=2).view(n, k, h, w)
        value = (heatmap.unsqueeze(-1) * coordinate_grid(h, w).view(1, 1, h, w, 2)).sum((2, 3))
        if self.jacobian is None:
            return value, None
        jacobian_map = self.jacobian(feature_map).view(n, self.num_jacobian_maps, 4, h, w)
        jacobian = (heatmap.unsqueeze(2) * jacobian_map).view(n, k, 4, h * w).sum(-1)
        return value, jacobian.view(n, k, 2, 2)


class DenseMotionNetwork(nn.Module):
    """Keypoints -> ``(deformation [N, h, w, 2], occlusion [N, 1, h, w] or None)`` at the
    ``scale_factor`` resolution (see the kit's ``DenseMotionNetwork``)."""

    def __init__(self, image_size: int, block_expansion: int, num_blocks: int, max_features: int,
                 num_kp: int, num_channels: int, estimate_occlusion_map: bool = False,
                 scale_factor: float = 1, kp_variance: float = 0.01,
                 mobile_net: bool = False) -> None:
        super().__init__()
        self.hourglass = Hourglass(block_expansion, (num_kp + 1) * (num_channels + 1), num_blocks,
                                   max_features, mobile_net)
        out = self.hourglass.out_filters
        self.mask = head(out, num_kp + 1, 1 if mobile_net else 3, mobile_net, relu=True)
        self.occlusion = (head(out, 1, 1 if mobile_net else 3, mobile_net, relu=True)
                          if estimate_occlusion_map else None)
        self.num_kp = num_kp
        self.scale_factor = scale_factor
        self.kp_variance = kp_variance
        if scale_factor != 1:
            self.down = AntiAliasInterpolation2d(num_channels, scale_factor, image_size, mobile_net)

    def sparse_motions(self, h: int, w: int, kp_source: Tensor, jac_source: Optional[Tensor],
                       kp_driving: Tensor, jac_driving: Optional[Tensor]) -> Tensor:
        """``z -> kp_s + J_s J_d^-1 (z - kp_d)`` per keypoint, identity first: ``[N, K+1, h, w, 2]``."""
        identity = coordinate_grid(h, w).view(1, 1, h, w, 2)
        grid = identity - kp_driving[:, :, None, None, :]
        if jac_driving is not None:
            jacobian = torch.matmul(jac_source, invert_2x2(jac_driving))
            grid = apply_2x2(jacobian[:, :, None, None], grid)
        motion = grid + kp_source[:, :, None, None, :]
        return torch.cat([identity.expand(motion.shape[0], 1, h, w, 2), motion], dim=1)

    def forward(self, source: Tensor, kp_source: Tensor, jac_source: Optional[Tensor],
                kp_driving: Tensor, jac_driving: Optional[Tensor]
                ) -> Tuple[Tensor, Optional[Tensor]]:
        if self.scale_factor != 1:
            source = self.down(source)
        n, c, h, w = source.shape
        k1 = self.num_kp + 1
        heatmap = (kp2gaussian(kp_driving, h, w, self.kp_variance)
                   - kp2gaussian(kp_source, h, w, self.kp_variance))
        heatmap = torch.cat([torch.zeros_like(heatmap[:, :1]), heatmap], dim=1).unsqueeze(2)
        motions = self.sparse_motions(h, w, kp_source, jac_source, kp_driving, jac_driving)
        repeated = source.unsqueeze(1).expand(n, k1, c, h, w).reshape(n * k1, c, h, w)
        deformed = grid_sample(repeated, motions.reshape(n * k1, h, w, 2)).view(n, k1, c, h, w)
        features = torch.cat([heatmap, deformed], dim=2).view(n, k1 * (c + 1), h, w)
        prediction = self.hourglass(features)
        mask = F.softmax(self.mask(prediction), dim=1)
        deformation = (motions * mask.unsqueeze(-1)).sum(1)
        occlusion = torch.sigmoid(self.occlusion(prediction)) if self.occlusion is not None else None
        return deformation, occlusion


class OcclusionAwareGenerator(nn.Module):
    """Source encoder (:meth:`encode`), dense motion, warp, bottleneck, decoder.

    Takes the image side ``image_size`` and the kit's ``generator_cfg`` and ``common_params``
    as keyword arguments; ``inference`` as the kit's (the predictor's border handling).
    """

    def __init__(self, image_size: int, num_channels: int, num_kp: int, block_expansion: int,
                 max_features: int,
                 num_down_blocks: int, num_bottleneck_blocks: int,
                 estimate_occlusion_map: bool = False,
                 dense_motion_params: Optional[Mapping[str, Any]] = None,
                 estimate_jacobian: bool = False, inference: bool = True,
                 mobile_net: bool = False) -> None:
        super().__init__()
        self.dense_motion_network = (DenseMotionNetwork(
            image_size=image_size, num_kp=num_kp, num_channels=num_channels, estimate_occlusion_map=estimate_occlusion_map,
            mobile_net=mobile_net, **dense_motion_params) if dense_motion_params is not None else None)
        if mobile_net:
            self.first = nn.Sequential(
                SameBlock2d(num_channels, num_channels, 3, 1, bias=False),
                SameBlock2d(num_channels, num_channels, 3, 1, bias=False),
                SameBlock2d(num_channels, block_expansion, 3, 1, bias=False))
            self.final = head(block_expansion, num_channels, 1, True, relu=True)
        else:
            self.first = SameBlock2d(num_channels, block_expansion, 7, 3)
            self.final = conv(block_expansion, num_channels, 7, 3)
        down, up, res = ((MobileDownBlock2d, MobileUpBlock2d, MobileResBlock2d) if mobile_net
                         else (DownBlock2d, UpBlock2d, ResBlock2d))
        levels = num_down_blocks
        self.down_blocks = nn.ModuleList(
            down(width(block_expansion, max_features, i), width(block_expansion, max_features, i + 1))
            for i in range(levels))
        self.up_blocks = nn.ModuleList(
            up(width(block_expansion, max_features, levels - i),
               width(block_expansion, max_features, levels - i - 1))
            for i in range(levels))
        self.bottleneck = nn.Sequential()
        for i in range(num_bottleneck_blocks):
            self.bottleneck.add_module(f"r{i}", res(width(block_expansion, max_features, levels)))
        self.inference = inference
        self.mobile_net = mobile_net
        self.image_size = image_size
        self._register_border(image_size // 2 ** levels)

    def _register_border(self, side: int) -> None:
        """The inference border's constants at the feature side: ``blend [1, s, s, 1]`` (1
        inside, fading to 0), ``identity [1, s, s, 2]`` and ``frame [1, 1, s, s]`` (1 on it)."""
        self.register_buffer("blend", torch.from_numpy(
            border_blend_weights(side, side, BORDER_PAD)).view(1, side, side, 1), persistent=False)
        self.register_buffer("identity", coordinate_grid(side, side).unsqueeze(0), persistent=False)
        self.register_buffer("frame", torch.from_numpy(
            border_frame_mask(side, side, BORDER_PAD)).view(1, 1, side, side), persistent=False)

    def encode(self, source: Tensor) -> Tensor:
        """Source ``[N, C, S, S]`` -> features ``[N, F, S/2^d, S/2^d]`` (once per source)."""
        check_side(source, self.image_size)
        out = self.first(source)
        for down in self.down_blocks:
            out = down(out)
        return out

    def warp(self, features: Tensor, deformation: Tensor) -> Tensor:
        """Sample ``features [N, F, h, w]`` at ``deformation`` (resized to h x w)."""
        h, w = features.shape[2], features.shape[3]
        if tuple(deformation.shape[1:3]) != (h, w):
            deformation = F.interpolate(deformation.permute(0, 3, 1, 2), size=(h, w),
                                        mode="bilinear", align_corners=False).permute(0, 2, 3, 1)
        if self.inference:
            deformation = self.blend * deformation + (1 - self.blend) * self.identity
        return grid_sample(features, deformation)

    def fit_occlusion(self, occlusion: Tensor, h: int, w: int) -> Tensor:
        """Occlusion map resized to ``h x w``; 1 on the border in inference (full model)."""
        if tuple(occlusion.shape[2:]) != (h, w):
            occlusion = F.interpolate(occlusion, size=(h, w), mode="bilinear", align_corners=False)
        if self.inference and not self.mobile_net:
            occlusion = occlusion * (1 - self.frame) + self.frame
        return occlusion

    def forward(self, source: Tensor, features: Tensor, kp_source: Tensor,
                jac_source: Optional[Tensor], kp_driving: Tensor,
                jac_driving: Optional[Tensor]) -> Tensor:
        """Prediction ``[N, C, H, W]`` in (0, 1) from the source, its :meth:`encode` features
        and the two keypoint sets (batch N, or 1 for the source's)."""
        check_side(source, self.image_size)
        out = features
        if self.dense_motion_network is not None:
            n = kp_driving.shape[0]
            if source.shape[0] != n:
                source, out = source.expand(n, -1, -1, -1), out.expand(n, -1, -1, -1)
                kp_source = kp_source.expand(n, -1, -1)
                jac_source = None if jac_source is None else jac_source.expand(n, -1, -1, -1)
            deformation, occlusion = self.dense_motion_network(source, kp_source, jac_source,
                                                               kp_driving, jac_driving)
            out = self.warp(out, deformation)
            if occlusion is not None:
                out = out * self.fit_occlusion(occlusion, out.shape[2], out.shape[3])
        out = self.bottleneck(out)
        for up in self.up_blocks:
            out = up(out)
        return torch.sigmoid(self.final(out))


# --- building, loading -----------------------------------------------------------------------
def build_torch_fomm(model_config: Mapping[str, Any], image_size: int, inference: bool = True
                     ) -> Tuple[KPDetector, OcclusionAwareGenerator]:
    """``(kp_detector, generator)`` in eval mode, for ``image_size`` square frames, from the
    kit's ``model`` section (``common_params``, ``generator.kp_detector_cfg``,
    ``generator.generator_cfg``)."""
    common = dict(model_config["common_params"])
    nets = model_config["generator"]
    kp_detector = KPDetector(image_size, **nets["kp_detector_cfg"], **common)
    generator = OcclusionAwareGenerator(image_size, **nets["generator_cfg"], **common,
                                        inference=inference)
    return kp_detector.eval(), generator.eval()


def torch_key(paddle_key: str) -> str:
    """The PyTorch name of a kit state-dict entry (BatchNorm statistics renamed)."""
    for old, new in (("._mean", ".running_mean"), ("._variance", ".running_var")):
        if paddle_key.endswith(old):
            return paddle_key[:-len(old)] + new
    return paddle_key


def load_paddle_state(module: nn.Module, state: Mapping[str, np.ndarray]) -> None:
    """Load a kit (Paddle) state dict of numpy arrays into ``module``, strictly.

    Raises:
        KeyError: a parameter or buffer missing on either side (BatchNorm's
            ``num_batches_tracked``, which Paddle has no counterpart of, excepted).
        ValueError: a shape that differs.
    """
    linear = {f"{name}.weight" for name, sub in module.named_modules() if isinstance(sub, nn.Linear)}
    target = {k: v for k, v in module.state_dict().items() if not k.endswith("num_batches_tracked")}
    given = {torch_key(k): np.asarray(v, dtype=np.float32) for k, v in state.items()}
    missing, unexpected = sorted(set(target) - set(given)), sorted(set(given) - set(target))
    if missing or unexpected:
        raise KeyError(f"state dict mismatch: missing {missing[:5]}, unexpected {unexpected[:5]}")
    with torch.no_grad():
        for key, tensor in target.items():
            value = given[key].T if key in linear else given[key]
            if tuple(value.shape) != tuple(tensor.shape):
                raise ValueError(f"{key}: shape {value.shape} in the state dict, "
                                 f"{tuple(tensor.shape)} in the network")
            tensor.copy_(torch.from_numpy(np.ascontiguousarray(value)))


def numpy_state(layer) -> Dict[str, np.ndarray]:
    """A Paddle layer's state dict as numpy arrays."""
    return {key: value.numpy() for key, value in layer.state_dict().items()}


def torch_from_paddle(model_config: Mapping[str, Any], kp_detector, generator, image_size: int
                      ) -> Tuple[KPDetector, OcclusionAwareGenerator]:
    """PyTorch copies of the kit's Paddle ``kp_detector`` and ``generator`` for
    ``image_size`` square frames (same weights, same ``inference`` border handling)."""
    torch_kp, torch_gen = build_torch_fomm(model_config, image_size,
                                           inference=bool(generator.inference))
    load_paddle_state(torch_kp, numpy_state(kp_detector))
    load_paddle_state(torch_gen, numpy_state(generator))
    return torch_kp, torch_gen


# --- the engine the benches time ---------------------------------------------------------------
class TorchEngine:
    """The kit's engine interface (``kp_detector``, ``generator``) over the PyTorch networks.

    Args:
        kp_detector, generator: PyTorch networks (:func:`torch_from_paddle`).
        compile: run the per-frame work through ``torch.compile`` (default inductor backend);
            the first call compiles (see :meth:`warm_up`).
        freeze: with ``compile``, inductor's ``freezing`` option too (weights folded and
            pre-packed for oneDNN once, PyTorch's advice for CPU inference; without it every
            conv call reorders its weights, as in eager mode).

    ``kp_detector(images)`` returns ``{"value", "jacobian"}`` torch tensors; ``generator(source,
    kp_source, kp_driving)`` the prediction ``[N, 3, H, W]`` (a torch tensor: ``.numpy()``
    gives the array). Sources are encoded once each (a :class:`SourceCache`).
    """

    def __init__(self, kp_detector: KPDetector, generator: OcclusionAwareGenerator,
                 compile: bool = False, freeze: bool = False) -> None:
        if freeze and not compile:
            raise ValueError("freeze is an option of torch.compile: set compile too")
        self.kp_net, self.generator_net = kp_detector.eval(), generator.eval()
        self.name = "torch-compile-freeze" if freeze else "torch-compile" if compile else "torch"
        options = {"freezing": True} if freeze else None
        self._kp = torch.compile(self.kp_net, options=options) if compile else self.kp_net
        self._gen = (torch.compile(self.generator_net, options=options) if compile
                     else self.generator_net)
        self._sources = SourceCache()

    @staticmethod
    def _tensor(array) -> Tensor:
        if isinstance(array, Tensor):
            return array
        return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))

    def kp_detector(self, images) -> Dict[str, Tensor]:
        with torch.inference_mode():
            value, jacobian = self._kp(self._tensor(images))
        return {"value": value} if jacobian is None else {"value": value, "jacobian": jacobian}

    def _features(self, source: np.ndarray) -> Tensor:
        def encode(array: np.ndarray) -> Tensor:
            with torch.inference_mode():
                return self.generator_net.encode(self._tensor(array))
        return self._sources.get(np.ascontiguousarray(source, dtype=np.float32), encode)

    def generator(self, source, kp_source: Mapping[str, Tensor],
                  kp_driving: Mapping[str, Tensor]) -> Tensor:
        features = self._features(np.asarray(source))
        with torch.inference_mode():
            return self._gen(self._tensor(source), features, self._tensor(kp_source["value"]),
                             kp_source.get("jacobian"), self._tensor(kp_driving["value"]),
                             kp_driving.get("jacobian"))

    def warm_up(self, source: np.ndarray, frame: np.ndarray) -> float:
        """Run one frame (compiling when ``compile``); the seconds it took."""
        start = time.perf_counter()
        self.generator(source, self.kp_detector(source), self.kp_detector(frame))
        return time.perf_counter() - start


# --- parity with the kit -----------------------------------------------------------------------
def parity(config: Any, seed: int = 0, frames: int = 2, image_size: Optional[int] = None,
           weights: Optional[str] = None) -> Dict[str, float]:
    """Max abs differences between the kit's Paddle networks and the PyTorch ones.

    Both are built from ``config`` (anything :func:`~ppgan_app.models.firstorder.load_fomm_config`
    takes) with the same weights: the checkpoint ``weights``, else seeded random ones
    (``randomize_fomm_weights``); both run on the same random source and driving frames
    ``[frames, 3, S, S]`` in [0, 1] (``S``: ``image_size``, else the config's ``image_size``,
    else 64).

    Returns:
        ``{"value", "jacobian", "prediction"}`` -> max |paddle - torch| (``jacobian`` only when
        the config estimates jacobians).
    """
    import paddle

    from ppgan_app.models.firstorder import (build_fomm_networks, fomm_model_config,
                                             load_fomm_config, randomize_fomm_weights)
    from ppgan_app.weights.fomm import load_fomm

    whole = load_fomm_config(config)
    size = int(image_size or whole.get("image_size", 64))
    model_config = fomm_model_config(whole)
    rng = np.random.default_rng(seed)
    if weights:
        kp_paddle, gen_paddle, *_ = load_fomm(weights, whole, size, inference=True)
    else:
        kp_paddle, gen_paddle = build_fomm_networks(model_config, inference=True)
        randomize_fomm_weights(kp_paddle, rng)
        randomize_fomm_weights(gen_paddle, rng)
    engine = TorchEngine(*torch_from_paddle(model_config, kp_paddle, gen_paddle, size))
    source = rng.uniform(0, 1, (1, 3, size, size)).astype(np.float32)
    driving = rng.uniform(0, 1, (frames, 3, size, size)).astype(np.float32)
    with paddle.no_grad():
        kp_s = kp_paddle(paddle.to_tensor(source))
        kp_d = kp_paddle(paddle.to_tensor(driving))
        expanded = {key: value.expand([frames] + value.shape[1:]) for key, value in kp_s.items()}
        prediction = gen_paddle(paddle.to_tensor(source).expand([frames, 3, size, size]),
                                kp_driving=kp_d, kp_source=expanded)["prediction"]
    torch_kp_s, torch_kp_d = engine.kp_detector(source), engine.kp_detector(driving)
    out = {key: float(np.abs(kp_d[key].numpy() - torch_kp_d[key].numpy()).max()) for key in kp_d}
    out["prediction"] = float(np.abs(prediction.numpy()
                                     - engine.generator(source, torch_kp_s, torch_kp_d).numpy()).max())
    return out
