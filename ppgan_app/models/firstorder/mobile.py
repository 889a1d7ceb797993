"""Distilling FOMM into a smaller student (PaddleGAN's ``FirstOrderModelMobile`` and its stages).

PaddleGAN's recipe (``firstorder_vox_mobile_256.yaml``) trains the student in three stages
against a frozen teacher checkpoint:

* ``mode: kp_detector``: the student keypoint detector learns with the teacher's generator
  (loaded, frozen) as its renderer, so it must produce keypoints the teacher understands;
* ``mode: generator``: the student generator learns to render from the teacher's keypoint
  detector (loaded, frozen);
* ``mode: both``: the two students (from the stage checkpoints ``kp_weight_path`` and
  ``gen_weight_path``) are fine-tuned together. PaddleGAN needs both checkpoints; here a
  missing one starts that student afresh (PaddleGAN's initialisation), so the generator
  stage can be skipped.

Every stage uses FOMM's losses against the real driving frame. On top of PaddleGAN's recipe,
two distillation losses train the student against the teacher's own outputs for the same
source and driving frames (both default to 0, PaddleGAN's behaviour):

* ``loss_weights.distillation``: ``w * sum over train_params.scales of mean |pyramid(student
  prediction) - pyramid(teacher prediction)|`` (the pixel pyramid of the offline perceptual
  loss, aimed at the teacher's frame instead of the real one);
* ``loss_weights.distillation_keypoints``: ``w * (mean |value_s - value_t| + mean |J_s - J_t|)``
  over the source and driving keypoints, in the stages that train the keypoint detector
  (it teaches the student the teacher's keypoint layout directly, instead of only through
  the frozen teacher generator).

When the ``kp_detector`` stage has every image loss at 0 (``perceptual``, ``generator_gan``,
``distillation``), nothing depends on a rendered frame: the stage then skips the generator and
trains the keypoint detector on ``distillation_keypoints`` and the equivariance losses alone,
at a fraction of the cost of an iteration (a plain regression onto the teacher's keypoints).

Nets ``kp_detector``, ``generator``, ``discriminator`` are the student's (a checkpoint feeds the
predictor as a ``FirstOrderModel`` one does); the frozen half is among them, unchanged.
"""
from __future__ import annotations

import copy
import logging
from typing import Any, Dict, List, Mapping, Optional

import paddle

from ppgan_app.errors import ConfigError
from ppgan_app.models.firstorder.checkpoint import NETS_GENERATOR, stage_generator
from ppgan_app.models.firstorder.model import FirstOrderModel
from ppgan_app.models.firstorder.blocks import ImagePyramide
from ppgan_app.models.pretrained import PretrainedWeights
from ppgan_app.registries import MODELS

logger = logging.getLogger(__name__)

MODES = ("kp_detector", "generator", "both")
DISTILLATION_WEIGHTS = ("distillation", "distillation_keypoints")   # loss_weights keys, default 0
_TRAINED = {"kp_detector": ("kp_detector",), "generator": ("generator",),
            "both": ("kp_detector", "generator")}
_OPTIMIZER_OF = {"kp_detector": "optimizer_KP", "generator": "optimizer_Gen"}


@MODELS.register()
class FirstOrderModelMobile(FirstOrderModel):
    """FOMM student trained against a frozen teacher, in PaddleGAN's stages.

    Args:
        common_params, train_params, discriminator: as :class:`FirstOrderModel`.
        generator_ori: the teacher's ``FirstOrderGenerator`` entry (``kp_detector_cfg``,
            ``generator_cfg``).
        generator: the student's entry.
        mode: ``kp_detector``, ``generator`` or ``both`` (see the module docstring).
        teacher_weights: the teacher checkpoint (path or known name, e.g. ``vox-cpk``),
            loaded by the caller (:meth:`pretrained_weights`).
        kp_weight_path, gen_weight_path: ``both`` only: the stage checkpoints holding the
            student keypoint detector and generator.
    """

    def __init__(self, common_params: Mapping[str, Any], train_params: Mapping[str, Any],
                 generator_ori: Mapping[str, Any], generator: Mapping[str, Any],
                 discriminator: Mapping[str, Any], mode: str = "kp_detector",
                 teacher_weights: Optional[str] = "vox-cpk", kp_weight_path: Optional[str] = None,
                 gen_weight_path: Optional[str] = None, init_weights: bool = True) -> None:
        if mode not in MODES:
            raise ConfigError(f"model.mode must be one of {MODES}, got {mode!r}")
        if not teacher_weights:
            raise ConfigError("model.teacher_weights: give the teacher checkpoint to distil from")
        student = stage_generator({"mode": mode, "generator": generator,
                                   "generator_ori": generator_ori})
        if mode == "generator":   # the frozen keypoints make the equivariance losses constant
            train_params = copy.deepcopy(dict(train_params))
            train_params["loss_weights"].update(equivariance_value=0, equivariance_jacobian=0)
        super().__init__(common_params, train_params, student, discriminator, init_weights)
        self.nets_generator = student
        self.mode = mode
        self.trained = _TRAINED[mode]
        self.distill_weights = _distillation_weights(train_params["loss_weights"])
        self.render = not (mode == "kp_detector" and _image_losses_off(train_params["loss_weights"],
                                                                        self.distill_weights))
        self.distill_pyramid = ImagePyramide(list(train_params["scales"]),
                                             int(common_params["num_channels"]))
        self.teacher_weights = teacher_weights
        self.stage_weights = {"kp_detector": kp_weight_path, "generator": gen_weight_path}
        self._build_teacher(common_params, generator_ori)
        self._freeze_students(mode)

    def _build_teacher(self, common_params: Mapping[str, Any], generator_ori: Mapping[str, Any]
                       ) -> None:
        """The frozen teacher networks (their weights: :meth:`pretrained_weights`)."""
        from ppgan_app.models.firstorder.build import build_fomm_networks

        config = {"model": {"common_params": dict(common_params), "generator": dict(generator_ori)}}
        self.teacher_kp, self.teacher_gen = build_fomm_networks(config, inference=False)
        for net in (self.teacher_kp, self.teacher_gen):
            self.set_requires_grad(net, False)
        logger.info("distilling from teacher %s (mode %s)", self.teacher_weights, self.mode)

    def _freeze_students(self, mode: str) -> None:
        """Freeze the half a stage does not train (it starts as the teacher's)."""
        if mode == "both":
            for net, path in self.stage_weights.items():
                if not path:
                    logger.info("mode both: no stage checkpoint for the student %s, it starts "
                                "afresh", net)
            return
        frozen = "generator" if mode == "kp_detector" else "kp_detector"
        self.set_requires_grad(self.nets[frozen], False)

    def pretrained_weights(self) -> List[PretrainedWeights]:
        """The teacher's two nets; the frozen half of a ``kp_detector`` or ``generator`` stage
        from the teacher too; in ``both``, each student from its stage checkpoint (when
        given); plus VGG19's (see :class:`FirstOrderModel`)."""
        teacher = "the distillation teacher (model.teacher_weights)"
        wanted = [PretrainedWeights(self.teacher_kp, self.teacher_weights, teacher, "kp_detector"),
                  PretrainedWeights(self.teacher_gen, self.teacher_weights, teacher, "generator")]
        if self.mode == "both":
            wanted += [PretrainedWeights(self.nets[net], path, f"the {net} stage checkpoint", net)
                       for net, path in self.stage_weights.items() if path]
        else:
            frozen = "generator" if self.mode == "kp_detector" else "kp_detector"
            wanted.append(PretrainedWeights(self.nets[frozen], self.teacher_weights, teacher, frozen))
        return wanted + super().pretrained_weights()

    def checkpoint_config(self, config: Mapping[str, Any]) -> Dict[str, Any]:
        """``config`` plus ``nets_generator``: the architecture of the nets this stage
        checkpoints (see :func:`~ppgan_app.models.firstorder.checkpoint.checkpoint_config`)."""
        return {**super().checkpoint_config(config), NETS_GENERATOR: copy.deepcopy(self.nets_generator)}

    def setup_optimizers(self, lr_cfg: Optional[Mapping[str, Any]],
                         optimizer_cfg: Mapping[str, Any]) -> Dict[str, Any]:
        """FirstOrderModel's optimizers, minus the frozen half's."""
        super().setup_optimizers(lr_cfg, optimizer_cfg)
        for net, opt_name in _OPTIMIZER_OF.items():
            if net not in self.trained:
                self.optimizers.pop(opt_name, None)
                self.lr_schedulers.pop(opt_name, None)
        return self.optimizers

    def train(self) -> None:
        """Train mode for the students; the frozen half and the teacher stay in eval mode
        (their batch-norm statistics are the teacher's)."""
        super().train()
        for name in ("kp_detector", "generator"):
            if name not in self.trained:
                self.nets[name].eval()
        self.teacher_kp.eval()
        self.teacher_gen.eval()

    def _teacher_outputs(self) -> Dict[str, Any]:
        """The frozen teacher on the batch: ``kp_source``/``kp_driving`` (``value [N, K, 2]``,
        ``jacobian [N, K, 2, 2]``) and ``prediction [N, 3, H, W]`` in [0, 1]; no gradients."""
        with paddle.no_grad():
            kp_source = self.teacher_kp(self.input["source"])
            kp_driving = self.teacher_kp(self.input["driving"])
            out = self.teacher_gen(self.input["source"], kp_driving=kp_driving, kp_source=kp_source)
        return {"kp_source": kp_source, "kp_driving": kp_driving, "prediction": out["prediction"]}

    def _distillation_losses(self) -> Dict[str, paddle.Tensor]:
        """The enabled distillation losses of the current batch (see the module docstring)."""
        w_frame = self.distill_weights["distillation"]
        w_kp = self.distill_weights["distillation_keypoints"]
        if "kp_detector" not in self.trained:    # the keypoints are the teacher's already
            w_kp = 0.0
        if not (w_frame or w_kp):
            return {}
        teacher = self._teacher_outputs()
        losses: Dict[str, paddle.Tensor] = {}
        if w_frame:
            fake = self.distill_pyramid(self.generated["prediction"])
            target = self.distill_pyramid(teacher["prediction"])
            losses["distillation"] = w_frame * paddle.add_n(
                [paddle.abs(fake[key] - target[key]).mean() for key in fake])
        if w_kp:
            terms = [paddle.abs(self.generated[side][part] - teacher[side][part]).mean()
                     for side in ("kp_source", "kp_driving") for part in ("value", "jacobian")
                     if part in teacher[side]]
            losses["distillation_keypoints"] = w_kp * paddle.add_n(terms) / 2
        return losses

    def train_iter(self, optimizers: Optional[Dict[str, Any]] = None) -> None:
        """One step of the trained students (and the discriminator when the GAN loss is on)."""
        losses, self.generated = self.gen_full(self.input, self.nets["discriminator"],
                                               render=self.render)
        losses.update(self._distillation_losses())
        if not losses:
            raise ConfigError("every loss of this distillation stage is 0: set "
                              "model.train_params.loss_weights (e.g. distillation_keypoints)")
        self.set_requires_grad(self.nets["discriminator"], False)
        steps = [self.optimizers[_OPTIMIZER_OF[name]] for name in self.trained]
        for opt in steps:
            opt.clear_grad()
        paddle.add_n([value.mean() for value in losses.values()]).backward()
        for opt in steps:
            opt.step()
        self.losses = {k: float(v.mean()) for k, v in losses.items()}
        if self.render:
            self._discriminator_step()
            self._set_visuals(self.input["source"], self.input["driving"], self.generated)
        else:
            self.visual_items = {k: self.input[k].detach() * 2 - 1 for k in ("source", "driving")}



def _distillation_weights(loss_weights: Mapping[str, Any]) -> Dict[str, float]:
    """``{key: weight}`` for :data:`DISTILLATION_WEIGHTS` (missing: 0); a negative or
    non-numeric weight is a :class:`ConfigError`."""
    weights = {}
    for key in DISTILLATION_WEIGHTS:
        value = loss_weights.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(f"model.train_params.loss_weights.{key} must be a number >= 0 "
                              f"(0 turns it off), got {value!r}")
        weights[key] = float(value)
    return weights


def _image_losses_off(loss_weights: Mapping[str, Any], distill: Mapping[str, float]) -> bool:
    """True when no loss of a stage looks at a rendered frame."""
    return (sum(loss_weights.get("perceptual", [0])) == 0
            and loss_weights.get("generator_gan", 0) == 0 and distill["distillation"] == 0)
