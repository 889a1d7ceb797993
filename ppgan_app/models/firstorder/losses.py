"""Training-side pieces of FOMM: VGG19 features, random TPS transforms, the generator wrapper.

``FirstOrderGenerator`` (PaddleGAN's name and layout: ``kp_extractor``, ``generator``)
computes the generator-side losses of one batch: multi-scale perceptual loss (VGG19),
optional LSGAN and feature-matching losses, and the equivariance losses on keypoint values
and jacobians under a random thin-plate-spline warp (Sec. 3.3 of the paper).
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import paddle
import paddle.nn as nn

from ppgan_app.errors import ConfigError
from ppgan_app.models.firstorder.generator import OcclusionAwareGenerator
from ppgan_app.models.pretrained import PretrainedWeights
from ppgan_app.models.firstorder.blocks import (ImagePyramide, grid_sample, invert_2x2,
                                           make_coordinate_grid)
from ppgan_app.models.firstorder.keypoint_detector import KPDetector
from ppgan_app.registries import GENERATORS

logger = logging.getLogger(__name__)

KeyPoints = Mapping[str, paddle.Tensor]
PERCEPTUAL_FEATURES = ("vgg19", "pixels")
_VGG_SLICES = ((0, 2), (2, 7), (7, 12), (12, 21), (21, 30))   # relu1_1 ... relu5_1


class VGG19(nn.Layer):
    """Frozen VGG19 features at relu1_1, relu2_1, relu3_1, relu4_1, relu5_1.

    Args:
        weights: a ``resolve_weights`` name or path (PaddleGAN's ``vgg19.pdparams``, a
            ``paddle.vision`` VGG19 state dict) that :meth:`pretrained` asks the caller to
            load, or None for random weights (tests only: the perceptual loss is then
            meaningless; a warning is logged).

    Forward: ``x [N, 3, H, W]`` in [0, 1] -> five feature maps.
    """

    def __init__(self, weights: Optional[str] = "vgg19") -> None:
        super().__init__()
        self.weights = weights
        if weights is None:
            logger.warning("VGG19 for the perceptual loss is randomly initialised "
                           "(vgg_weights: null); use it for smoke tests only")
        vgg = paddle.vision.models.vgg19(pretrained=False, num_classes=0, with_pool=False)
        features = vgg.features     # no classifier: its 102M parameters are never used
        self.slices = nn.LayerList([
            nn.Sequential(*[features[i] for i in range(start, stop)]) for start, stop in _VGG_SLICES])
        self.register_buffer("mean", paddle.to_tensor([0.485, 0.456, 0.406]).reshape([1, 3, 1, 1]),
                             persistable=False)
        self.register_buffer("std", paddle.to_tensor([0.229, 0.224, 0.225]).reshape([1, 3, 1, 1]),
                             persistable=False)
        for param in self.parameters():
            param.stop_gradient = True

    @staticmethod
    def from_vision_keys(state: Mapping[str, Any]) -> Dict[str, Any]:
        """A ``paddle.vision`` VGG19 state dict (``features.<i>.<param>``) in this layer's keys
        (``slices.<s>.<j>.<param>``); layers past relu5_1 and the classifier are left out."""
        out = {}
        for key, value in state.items():
            parts = key.split(".", 2)
            if len(parts) != 3 or parts[0] != "features" or not parts[1].isdigit():
                continue
            index = int(parts[1])
            for slice_id, (start, stop) in enumerate(_VGG_SLICES):
                if start <= index < stop:
                    out[f"slices.{slice_id}.{index - start}.{parts[2]}"] = value
        return out

    def pretrained(self) -> List[PretrainedWeights]:
        """The weights this VGG19 starts from (none when ``weights`` is None)."""
        if self.weights is None:
            return []
        return [PretrainedWeights(self, self.weights, "VGG19 weights (perceptual loss)",
                                  convert=self.from_vision_keys)]

    def forward(self, x: paddle.Tensor) -> List[paddle.Tensor]:
        out = (x - self.mean) / self.std
        features = []
        for block in self.slices:
            out = block(out)
            features.append(out)
        return features


class Transform:
    """Random affine + thin-plate-spline warp of a batch (for the equivariance losses).

    Args:
        bs: batch size N.
        sigma_affine: std of the affine perturbation.
        sigma_tps, points_tps: std and grid size of the TPS control parameters (optional).
    """

    def __init__(self, bs: int, sigma_affine: float, sigma_tps: Optional[float] = None,
                 points_tps: Optional[int] = None) -> None:
        self.bs = bs
        noise = paddle.normal(0.0, sigma_affine, [bs, 2, 3])
        self.theta = noise + paddle.eye(2, 3, dtype="float32").unsqueeze(0)
        self.tps = sigma_tps is not None and points_tps is not None
        if self.tps:
            self.control_points = make_coordinate_grid((points_tps, points_tps)).reshape([1, -1, 2])
            self.control_params = paddle.normal(0.0, sigma_tps, [bs, 1, points_tps ** 2])

    def warp_coordinates(self, coordinates: paddle.Tensor) -> paddle.Tensor:
        """``[N or 1, P, 2]`` points in [-1, 1] -> ``[N, P, 2]`` warped points."""
        theta = self.theta.unsqueeze(1)                                          # [N,1,2,3]
        warped = paddle.matmul(theta[..., :2], coordinates.unsqueeze(-1)) + theta[..., 2:]
        warped = warped.squeeze(-1)
        if self.tps:
            distances = (coordinates.unsqueeze(2) - self.control_points.unsqueeze(1)).abs().sum(-1)
            result = distances ** 2 * paddle.log(distances + 1e-6) * self.control_params
            warped = warped + result.sum(2).unsqueeze(-1)
        return warped

    def transform_frame(self, frame: paddle.Tensor) -> paddle.Tensor:
        """Warp images ``[N, C, H, W]`` (reflection padding)."""
        _, _, h, w = frame.shape
        grid = make_coordinate_grid((h, w)).reshape([1, h * w, 2])
        grid = self.warp_coordinates(grid).reshape([self.bs, h, w, 2])
        return grid_sample(frame, grid, padding_mode="reflection")

    def jacobian(self, coordinates: paddle.Tensor) -> paddle.Tensor:
        """d warp / d coordinates at ``[N, K, 2]`` points -> ``[N, K, 2, 2]`` (differentiable)."""
        warped = self.warp_coordinates(coordinates)
        grad_x = paddle.grad(warped[..., 0].sum(), coordinates, create_graph=True)[0]
        grad_y = paddle.grad(warped[..., 1].sum(), coordinates, create_graph=True)[0]
        return paddle.stack([grad_x, grad_y], axis=-2)


def detach_kp(kp: KeyPoints) -> Dict[str, paddle.Tensor]:
    return {k: v.detach() for k, v in kp.items()}


@GENERATORS.register()
class FirstOrderGenerator(nn.Layer):
    """Keypoint detector + generator with the generator-side FOMM losses.

    Args:
        generator_cfg: kwargs of :class:`OcclusionAwareGenerator`.
        kp_detector_cfg: kwargs of :class:`KPDetector`.
        common_params: ``num_kp``, ``num_channels``, ``estimate_jacobian``.
        train_params: ``scales``, ``transform_params``, ``loss_weights``.
        dis_scales: the discriminator's scales (for the GAN and feature-matching losses).
        vgg_weights: see :class:`VGG19`.
        perceptual_features: ``"vgg19"`` (FOMM's perceptual loss, needs the VGG19 weights) or
            ``"pixels"`` (offline: L1 between the image pyramids, weight ``perceptual[0]`` per
            scale; no network, so it works without any download).

    Forward: ``x = {"source", "driving"}`` ``[N, C, H, W]`` in [0, 1] and the discriminator
    (a ``MultiScaleDiscriminator``) -> ``(losses, generated)``.
    """

    def __init__(self, generator_cfg: Mapping[str, Any], kp_detector_cfg: Mapping[str, Any],
                 common_params: Mapping[str, Any], train_params: Mapping[str, Any],
                 dis_scales: Sequence[float] = (1,), vgg_weights: Optional[str] = "vgg19",
                 perceptual_features: str = "vgg19") -> None:
        super().__init__()
        self.kp_extractor = KPDetector(**kp_detector_cfg, **common_params)
        self.generator = OcclusionAwareGenerator(**generator_cfg, **common_params)
        self.train_params = train_params
        self.scales = list(train_params["scales"])
        self.disc_scales = list(dis_scales)
        self.pyramid = ImagePyramide(self.scales, self.generator.num_channels)
        self.loss_weights = train_params["loss_weights"]
        if perceptual_features not in PERCEPTUAL_FEATURES:
            raise ConfigError(f"model.generator.perceptual_features must be one of "
                              f"{PERCEPTUAL_FEATURES}, got {perceptual_features!r}")
        self.perceptual_features = perceptual_features
        use_vgg = perceptual_features == "vgg19" and sum(self.loss_weights["perceptual"]) != 0
        self.vgg = VGG19(vgg_weights) if use_vgg else None

    def _perceptual(self, real: Mapping[str, paddle.Tensor],
                    fake: Mapping[str, paddle.Tensor]) -> paddle.Tensor:
        total = 0.0
        if self.vgg is None:   # "pixels": L1 pyramid
            weight = self.loss_weights["perceptual"][0]
            for scale in self.scales:
                key = f"prediction_{scale}"
                total = total + weight * paddle.abs(fake[key] - real[key].detach()).mean()
            return total
        for scale in self.scales:
            x_vgg = self.vgg(fake[f"prediction_{scale}"])
            y_vgg = self.vgg(real[f"prediction_{scale}"])
            for weight, x_f, y_f in zip(self.loss_weights["perceptual"], x_vgg, y_vgg):
                total = total + weight * paddle.abs(x_f - y_f.detach()).mean()
        return total

    def _adversarial(self, discriminator: nn.Layer, real: Mapping[str, paddle.Tensor],
                     fake: Mapping[str, paddle.Tensor], kp_driving: KeyPoints,
                     losses: Dict[str, paddle.Tensor]) -> None:
        maps_fake = discriminator(fake, kp=detach_kp(kp_driving))
        maps_real = discriminator(real, kp=detach_kp(kp_driving))
        gen_gan = 0.0
        for scale in self.disc_scales:
            value = ((1 - maps_fake[f"prediction_map_{scale}"]) ** 2).mean()
            gen_gan = gen_gan + self.loss_weights["generator_gan"] * value
        losses["gen_gan"] = gen_gan
        weights = self.loss_weights["feature_matching"]
        if sum(weights) != 0:
            matching = 0.0
            for scale in self.disc_scales:
                key = f"feature_maps_{scale}"
                for weight, a, b in zip(weights, maps_real[key], maps_fake[key]):
                    if weight != 0:
                        matching = matching + weight * paddle.abs(a - b).mean()
            losses["feature_matching"] = matching

    def _equivariance(self, driving: paddle.Tensor, kp_driving: KeyPoints,
                      losses: Dict[str, paddle.Tensor], generated: Dict[str, Any]) -> None:
        transform = Transform(driving.shape[0], **self.train_params["transform_params"])
        transformed_frame = transform.transform_frame(driving)
        transformed_kp = self.kp_extractor(transformed_frame)
        generated["transformed_frame"] = transformed_frame
        generated["transformed_kp"] = transformed_kp
        if self.loss_weights["equivariance_value"] != 0:
            value = paddle.abs(kp_driving["value"]
                               - transform.warp_coordinates(transformed_kp["value"])).mean()
            losses["equivariance_value"] = self.loss_weights["equivariance_value"] * value
        if self.loss_weights["equivariance_jacobian"] != 0:
            jacobian_transformed = paddle.matmul(transform.jacobian(transformed_kp["value"]),
                                                 transformed_kp["jacobian"])
            value = paddle.matmul(invert_2x2(kp_driving["jacobian"]), jacobian_transformed)
            eye = paddle.eye(2, dtype="float32").reshape([1, 1, 2, 2])
            losses["equivariance_jacobian"] = (self.loss_weights["equivariance_jacobian"]
                                               * paddle.abs(eye - value).mean())

    def forward(self, x: Mapping[str, paddle.Tensor], discriminator: nn.Layer,
                render: bool = True) -> Tuple[Dict[str, paddle.Tensor], Dict[str, Any]]:
        """``render=False`` skips the generator and the image losses: only the keypoints
        (``generated["kp_source"/"kp_driving"]``) and the equivariance losses are computed."""
        kp_source = self.kp_extractor(x["source"])
        kp_driving = self.kp_extractor(x["driving"])
        losses: Dict[str, paddle.Tensor] = {}
        if not render:
            generated: Dict[str, Any] = {"kp_source": kp_source, "kp_driving": kp_driving}
            self._equivariance_losses(x["driving"], kp_driving, losses, generated)
            return losses, generated
        generated = self.generator(x["source"], kp_driving=kp_driving, kp_source=kp_source)
        generated.update({"kp_source": kp_source, "kp_driving": kp_driving})
        real = self.pyramid(x["driving"])
        fake = self.pyramid(generated["prediction"])
        if sum(self.loss_weights["perceptual"]) != 0:
            losses["perceptual"] = self._perceptual(real, fake)
        if self.loss_weights["generator_gan"] != 0:
            self._adversarial(discriminator, real, fake, kp_driving, losses)
        self._equivariance_losses(x["driving"], kp_driving, losses, generated)
        return losses, generated

    def _equivariance_losses(self, driving: paddle.Tensor, kp_driving: KeyPoints,
                             losses: Dict[str, paddle.Tensor], generated: Dict[str, Any]) -> None:
        if self.loss_weights["equivariance_value"] + self.loss_weights["equivariance_jacobian"] != 0:
            self._equivariance(driving, kp_driving, losses, generated)
