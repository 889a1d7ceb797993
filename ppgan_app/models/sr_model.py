"""Single-image super-resolution training: the L1 (PSNR) stage and the ESRGAN stage.

Symbols: ``lq`` low-resolution input ``[N, 3, h, w]``, ``gt`` high-resolution target
``[N, 3, s*h, s*w]``, ``sr = G(lq)`` the prediction, all float32 in [0, 1]; ``D(.)`` logits ``[N, 1]``.

Without a discriminator the generator descends ``pixel_weight * |sr - gt|_1`` (plus an optional
perceptual term): PaddleGAN's ``BaseSRModel``. With one, the ESRGAN stage (Wang et al., 2018):
pixel + perceptual + relativistic average GAN loss (``D_Ra(a, b) = D(a) - mean D(b)``), usually
started from a PSNR-stage checkpoint with ``--load``. Nets (checkpointed): ``generator``,
``discriminator``, and ``generator_ema`` when ``ema_decay`` is set (used for validation and by
the predictor).
"""
from __future__ import annotations

import copy
import logging
from typing import Any, Dict, Mapping, Optional, Sequence

import paddle
import paddle.nn.functional as F
from paddle import nn

from ppgan_app.errors import ConfigError
from ppgan_app.models.base_model import BaseModel
from ppgan_app.models.firstorder.model import reset_fomm_parameters
from ppgan_app.models.firstorder.blocks import ImagePyramide
from ppgan_app.registries import DISCRIMINATORS, GENERATORS, MODELS
from ppgan_app.utils.registry import build_from_config

logger = logging.getLogger(__name__)

PERCEPTUAL_FEATURES = ("pixels", "vgg19")


class PerceptualLoss(nn.Layer):
    """L1 distance of features: VGG19 relu1_1..relu5_1 (``vgg19``, weighted per layer) or, offline,
    of the images' anti-aliased pyramids (``pixels``: the stand-in the FOMM configs use when the
    VGG19 weights are absent). Forward: ``sr, gt`` ``[N, 3, H, W]`` in [0, 1] -> scalar."""

    def __init__(self, features: str = "pixels", scales: Sequence[float] = (1, 0.5, 0.25, 0.125),
                 vgg_weights: Optional[str] = "vgg19",
                 layer_weights: Sequence[float] = (0.0, 0.0, 0.0, 0.0, 1.0)) -> None:
        super().__init__()
        if features not in PERCEPTUAL_FEATURES:
            raise ConfigError(f"perceptual_features must be one of {PERCEPTUAL_FEATURES}, got {features!r}")
        self.features = features
        self.layer_weights = list(layer_weights)
        if features == "vgg19":
            from ppgan_app.models.firstorder.losses import VGG19

            self.vgg = VGG19(vgg_weights)
        else:
            self.pyramid = ImagePyramide(list(scales), 3)

    def forward(self, sr: paddle.Tensor, gt: paddle.Tensor) -> paddle.Tensor:
        if self.features == "vgg19":
            pairs = zip(self.layer_weights, self.vgg(sr), self.vgg(gt))
            return paddle.add_n([w * paddle.abs(a - b.detach()).mean() for w, a, b in pairs if w])
        fake, real = self.pyramid(sr), self.pyramid(gt)
        return paddle.add_n([paddle.abs(fake[k] - real[k].detach()).mean() for k in fake]) / len(fake)


def relativistic_loss(d_a: paddle.Tensor, d_b: paddle.Tensor, a_is_real: bool) -> paddle.Tensor:
    """ESRGAN's relativistic average loss with ``a`` the side that should look more real when
    ``a_is_real``: ``(BCE(D(a) - mean D(b), t) + BCE(D(b) - mean D(a), 1 - t)) / 2``."""
    target = 1.0 if a_is_real else 0.0
    ra = d_a - d_b.mean()
    rb = d_b - d_a.mean()
    return 0.5 * (F.binary_cross_entropy_with_logits(ra, paddle.full_like(ra, target))
                  + F.binary_cross_entropy_with_logits(rb, paddle.full_like(rb, 1.0 - target)))


@MODELS.register
class SRModel(BaseModel):
    """Super-resolution generator training, with the ESRGAN stage when a discriminator is given.

    Args:
        generator: GENERATORS entry (``PAN``, ``RRDBNet``): ``[N,3,h,w] -> [N,3,s*h,s*w]`` in [0, 1].
        scale: ``s``; must match the generator's own ``scale``.
        pixel_weight: weight of the L1 pixel loss (ESRGAN stage: PaddleGAN uses 0.01).
        discriminator: DISCRIMINATORS entry (``VGGDiscriminator128``) or None for the PSNR stage.
        gan_weight: weight of the relativistic GAN loss (ESRGAN: 5e-3).
        perceptual_weight: weight of the perceptual loss (ESRGAN: 1; 0 turns it off).
        perceptual_features: ``pixels`` (offline stand-in) or ``vgg19`` (needs the VGG19 weights).
        perceptual_scales: pyramid scales of the ``pixels`` stand-in.
        vgg_weights: a ``resolve_weights`` name or path for ``vgg19`` features.
        vgg_layer_weights: weights of relu1_1..relu5_1 for ``vgg19`` features.
        ema_decay: keep ``generator_ema`` (``ema = d * ema + (1 - d) * G`` after each step); None: no copy.
        ema_start: steps during which the EMA copy simply follows G.
        init_weights: re-initialise the generator's convs as PaddleGAN's ``use_init_weight``
            (PyTorch's default, U(+-1/sqrt(fan_in))); Paddle's own default makes PAN's 16
            un-normalised residual blocks start with outputs in the thousands.
    """

    def __init__(self, generator: Mapping[str, Any], scale: int = 4, pixel_weight: float = 1.0,
                 discriminator: Optional[Mapping[str, Any]] = None, gan_weight: float = 5e-3,
                 perceptual_weight: float = 0.0, perceptual_features: str = "pixels",
                 perceptual_scales: Sequence[float] = (1, 0.5, 0.25, 0.125),
                 vgg_weights: Optional[str] = "vgg19",
                 vgg_layer_weights: Sequence[float] = (0.0, 0.0, 0.0, 0.0, 1.0),
                 ema_decay: Optional[float] = None, ema_start: int = 0, init_weights: bool = True) -> None:
        super().__init__()
        self.nets["generator"] = build_from_config(generator, GENERATORS)
        if init_weights:
            reset_fomm_parameters(self.nets["generator"])  # the same PyTorch-default init
        self.scale = int(scale)
        net_scale = getattr(self.nets["generator"], "scale", self.scale)
        if net_scale != self.scale:
            raise ConfigError(f"model.scale is {self.scale} but the generator upscales x{net_scale}; "
                              f"make them equal")
        if discriminator is not None:
            self.nets["discriminator"] = build_from_config(discriminator, DISCRIMINATORS)
        self.pixel_weight, self.gan_weight = float(pixel_weight), float(gan_weight)
        self.perceptual_weight = float(perceptual_weight)
        self.perceptual = (PerceptualLoss(perceptual_features, perceptual_scales, vgg_weights, vgg_layer_weights)
                           if self.perceptual_weight else None)
        if ema_decay is not None and not 0.0 < float(ema_decay) < 1.0:
            raise ConfigError(f"model.ema_decay must be in (0, 1), got {ema_decay}")
        self.ema_decay, self.ema_start = (None if ema_decay is None else float(ema_decay)), int(ema_start)
        if self.ema_decay is not None:
            self.nets["generator_ema"] = _frozen_copy(self.nets["generator"])
        logger.info("SRModel x%d: %s stage (pixel %g%s%s), EMA %s", self.scale,
                    "ESRGAN" if discriminator is not None else "L1", self.pixel_weight,
                    f", perceptual {self.perceptual_weight} on {perceptual_features}" if self.perceptual else "",
                    f", GAN {self.gan_weight}" if discriminator is not None else "", self.ema_decay)
        self._optimizer_of: Dict[str, str] = {}
        self.lq: Optional[paddle.Tensor] = None
        self.gt: Optional[paddle.Tensor] = None

    # --- set-up -------------------------------------------------------------------------
    def setup_optimizers(self, lr_cfg: Optional[Mapping[str, Any]],
                         optimizer_cfg: Mapping[str, Any]) -> Dict[str, paddle.optimizer.Optimizer]:
        """One optimizer entry (the generator only), or one per net with ``net_names``
        (``optimG: {net_names: [generator]}, optimD: {net_names: [discriminator]}``)."""
        trained = [n for n in self.nets if n != "generator_ema"]
        if "name" in optimizer_cfg:
            if len(trained) > 1:
                raise ConfigError("the ESRGAN stage needs one optimizer per net: optimizer: {optimG: {name: "
                                  "Adam, net_names: [generator]}, optimD: {name: Adam, net_names: [discriminator]}}")
            optimizer_cfg = {"optimG": {**optimizer_cfg, "net_names": ["generator"]}}
        for opt_name, entry in optimizer_cfg.items():
            for net_name in entry.get("net_names", trained):
                if net_name == "generator_ema":
                    raise ConfigError("generator_ema is an average, not trained: remove it from net_names")
                self._optimizer_of[net_name] = opt_name
        missing = [n for n in trained if n not in self._optimizer_of]
        if missing:
            raise ConfigError(f"no optimizer updates {missing}; list them in some optimizer's net_names")
        return super().setup_optimizers(lr_cfg, {k: {"net_names": trained, **v} for k, v in optimizer_cfg.items()})

    # --- the contract ----------------------------------------------------------------
    def setup_input(self, batch: Mapping[str, Any]) -> None:
        """``batch``: ``lq`` ``[N,3,h,w]`` and ``gt`` ``[N,3,s*h,s*w]`` float32 in [0, 1]."""
        self.lq, self.gt = _as_float_tensor(batch["lq"]), _as_float_tensor(batch["gt"])
        if list(self.gt.shape[2:]) != [self.scale * self.lq.shape[2], self.scale * self.lq.shape[3]]:
            raise ValueError(f"gt {self.gt.shape} is not {self.scale}x lq {self.lq.shape}")

    def train_iter(self, optimizers: Optional[Dict[str, Any]] = None) -> None:
        """One generator step, then (ESRGAN stage) one discriminator step; then the EMA update."""
        optimizers = optimizers or self.optimizers
        sr = self.nets["generator"](self.lq)
        loss_g = self._generator_loss(sr)
        opt_g = optimizers[self._optimizer_of["generator"]]
        opt_g.clear_grad()
        loss_g.backward()
        opt_g.step()
        if "discriminator" in self.nets:
            self._discriminator_step(optimizers[self._optimizer_of["discriminator"]], sr.detach())
        self._update_ema()
        self._set_visuals(sr.detach())
        self.current_iter += 1

    def _generator_loss(self, sr: paddle.Tensor) -> paddle.Tensor:
        terms = {"l_pix": self.pixel_weight * paddle.abs(sr - self.gt).mean()}
        if self.perceptual is not None:
            terms["l_percep"] = self.perceptual_weight * self.perceptual(sr, self.gt)
        if "discriminator" in self.nets:
            netD = self.nets["discriminator"]
            self.set_requires_grad(netD, False)
            terms["l_g_gan"] = self.gan_weight * relativistic_loss(netD(sr), netD(self.gt).detach(), False)
            self.set_requires_grad(netD, True)
        self.losses = {k: float(v) for k, v in terms.items()}
        return paddle.add_n(list(terms.values()))

    def _discriminator_step(self, optimizer: paddle.optimizer.Optimizer, sr: paddle.Tensor) -> None:
        netD = self.nets["discriminator"]
        d_real, d_fake = netD(self.gt), netD(sr)
        loss_d = relativistic_loss(d_real, d_fake, True)
        optimizer.clear_grad()
        loss_d.backward()
        optimizer.step()
        self.losses.update({"l_d": float(loss_d), "d_real": float(d_real.mean()),
                            "d_fake": float(d_fake.mean())})

    def _update_ema(self) -> None:
        """Move ``generator_ema`` towards G; a plain copy during the first ``ema_start`` steps."""
        if self.ema_decay is None:
            return
        decay = 0.0 if self.current_iter < self.ema_start else self.ema_decay
        ema_state = self.nets["generator_ema"].state_dict()
        with paddle.no_grad():
            for name, value in self.nets["generator"].state_dict().items():
                ema_state[name].set_value(decay * ema_state[name] + (1.0 - decay) * value)

    @property
    def inference_net(self) -> nn.Layer:
        """The generator used for validation and prediction: ``generator_ema`` when kept."""
        return self.nets.get("generator_ema", self.nets["generator"])

    def test_iter(self, metrics: Optional[Dict[str, Any]] = None) -> None:
        """Upscale ``lq`` with the inference net; update ``metrics(sr, gt)`` (values in [0, 1])."""
        net = self.inference_net
        was_training = net.training
        net.eval()
        with paddle.no_grad():
            sr = net(self.lq).clip(0.0, 1.0)
        if was_training:
            net.train()
        for metric in (metrics or {}).values():
            metric.update(sr, self.gt)
        self._set_visuals(sr)

    def _set_visuals(self, sr: paddle.Tensor) -> None:
        """Bicubic upscale of ``lq``, ``sr`` and ``gt`` side by side, in [-1, 1] as the engine expects."""
        bicubic = F.interpolate(self.lq, scale_factor=self.scale, mode="bicubic", align_corners=False)
        self.visual_items = {k: v.clip(0.0, 1.0) * 2 - 1 for k, v in
                             {"bicubic": bicubic, "sr": sr, "gt": self.gt}.items()}


def _as_float_tensor(value: Any) -> paddle.Tensor:
    return (value if isinstance(value, paddle.Tensor) else paddle.to_tensor(value)).astype("float32")


def _frozen_copy(net: nn.Layer) -> nn.Layer:
    ema = copy.deepcopy(net)
    for param in ema.parameters():
        param.stop_gradient = True
    return ema
