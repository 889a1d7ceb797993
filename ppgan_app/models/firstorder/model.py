"""FOMM training model (PaddleGAN's ``FirstOrderModel`` contract and optimisation scheme).

Nets (checkpointed by the engine): ``kp_detector``, ``generator``, ``discriminator``: the
same names as PaddleGAN's published checkpoints, so a kit checkpoint feeds
``ppgan_app.weights.fomm.load_fomm`` / the predictor directly. Optimizers ``optimizer_KP``,
``optimizer_Gen``, ``optimizer_Dis`` (Adam by default), each with a MultiStepDecay
(gamma 0.1) at PaddleGAN's ``lr_scheduler.epoch_milestones`` (stepped per iteration).
"""
from __future__ import annotations

import logging
import math
from typing import Any, Dict, List, Mapping, Optional

import paddle
import paddle.nn as nn

from ppgan_app.models.base_model import BaseModel
from ppgan_app.models.pretrained import PretrainedWeights
from ppgan_app.registries import DISCRIMINATORS, GENERATORS, MODELS
from ppgan_app.solver import build_optimizer
from ppgan_app.utils.registry import build_from_config

logger = logging.getLogger(__name__)

_NET_LR_KEYS = {"optimizer_KP": ("kp_detector", "lr_kp_detector"),
                "optimizer_Gen": ("generator", "lr_generator"),
                "optimizer_Dis": ("discriminator", "lr_discriminator")}


def reset_fomm_parameters(net: nn.Layer) -> None:
    """PaddleGAN's FOMM initialisation (PyTorch defaults): conv weights and biases
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), BatchNorm scales U(0, 1). Spectral-normed convs
    (whose weight is not a parameter) keep their initialisation."""
    for layer in net.sublayers(include_self=True):
        if isinstance(layer, (nn.BatchNorm, nn.BatchNorm2D, nn.SyncBatchNorm)):
            layer.weight.set_value(paddle.uniform(layer.weight.shape, min=0.0, max=1.0))
        elif isinstance(layer, nn.Conv2D) and "weight" in layer._parameters:
            fan_in = int(layer.weight.shape[1] * math.prod(layer.weight.shape[2:]))
            bound = 1.0 / math.sqrt(fan_in)
            layer.weight.set_value(paddle.uniform(layer.weight.shape, min=-bound, max=bound))
            if layer.bias is not None:
                layer.bias.set_value(paddle.uniform(layer.bias.shape, min=-bound, max=bound))


@MODELS.register()
class FirstOrderModel(BaseModel):
    """First Order Motion Model training (Siarohin et al., NeurIPS 2019).

    Args:
        common_params: ``num_kp``, ``num_channels``, ``estimate_jacobian``.
        train_params: ``scales``, ``transform_params``, ``loss_weights``.
        generator: a ``FirstOrderGenerator`` entry (``kp_detector_cfg``, ``generator_cfg``,
            optionally ``vgg_weights``: a weight name/path, or null for a random VGG19).
        discriminator: a ``FirstOrderDiscriminator`` entry (``discriminator_cfg``).
        init_weights: re-initialise the nets as PaddleGAN does before training.

    Batches: ``{"source": [N,3,H,W], "driving": [N,3,H,W]}`` float32 in [0, 1] for training;
    ``{"video": [N,3,T,H,W]}`` for evaluation (reconstruction from frame 0).
    """

    def __init__(self, common_params: Mapping[str, Any], train_params: Mapping[str, Any],
                 generator: Mapping[str, Any], discriminator: Mapping[str, Any],
                 init_weights: bool = True) -> None:
        super().__init__()
        self.train_params = dict(train_params)
        dis_scales = discriminator["discriminator_cfg"]["scales"]
        self.gen_full = build_from_config(generator, GENERATORS, default_args={
            "common_params": common_params, "train_params": train_params, "dis_scales": dis_scales})
        self.dis_full = build_from_config(discriminator, DISCRIMINATORS, default_args={
            "common_params": common_params, "train_params": train_params})
        self.nets["kp_detector"] = self.gen_full.kp_extractor
        self.nets["generator"] = self.gen_full.generator
        self.nets["discriminator"] = self.dis_full.discriminator
        if init_weights:
            for net in self.nets.values():
                reset_fomm_parameters(net)
        self.input: Dict[str, paddle.Tensor] = {}
        self.generated: Dict[str, Any] = {}
        self.test_losses: list = []

    def setup_optimizers(self, lr_cfg: Optional[Mapping[str, Any]],
                         optimizer_cfg: Mapping[str, Any]) -> Dict[str, paddle.optimizer.Optimizer]:
        """One optimizer per net; ``lr_cfg`` in PaddleGAN's form::

            {name: MultiStepDecay, epoch_milestones: [...], lr_generator: 2e-4,
             lr_discriminator: 2e-4, lr_kp_detector: 2e-4}

        ``lr_cfg`` None: a constant ``optimizer_cfg.learning_rate`` (default 2e-4).
        """
        for opt_name, (net_name, lr_key) in _NET_LR_KEYS.items():
            params = self.nets[net_name].parameters()
            if lr_cfg is None:
                learning_rate: Any = optimizer_cfg.get("learning_rate", 2e-4)
            else:
                milestones = lr_cfg.get("epoch_milestones", lr_cfg.get("milestones"))
                milestones = list(milestones) if isinstance(milestones, (list, tuple)) else [milestones]
                learning_rate = paddle.optimizer.lr.MultiStepDecay(
                    learning_rate=lr_cfg.get(lr_key, 2e-4), milestones=milestones,
                    gamma=lr_cfg.get("gamma", 0.1))
                self.lr_schedulers[opt_name] = learning_rate
            self.optimizers[opt_name] = build_optimizer(optimizer_cfg, params, learning_rate)
        return self.optimizers

    def pretrained_weights(self) -> List[PretrainedWeights]:
        """The perceptual loss's VGG19 weights (when it uses VGG19 features)."""
        vgg = getattr(self.gen_full, "vgg", None)
        return vgg.pretrained() if vgg is not None else []

    def setup_input(self, batch: Mapping[str, Any]) -> None:
        self.input = dict(batch)

    def data_parallel_modules(self) -> tuple:
        """Attributes whose forward passes training runs through, for ``wrap_nets``.

        Training calls ``gen_full`` (keypoint detector + generator + losses) and ``dis_full``,
        not the nets themselves: wrapping these two in ``paddle.DataParallel`` is what makes
        the gradients of all three nets averaged across processes.
        """
        return ("gen_full", "dis_full")

    def eval(self) -> None:
        """Eval mode, and a fresh ``test_losses`` list for the validation that follows."""
        super().eval()
        self.test_losses = []

    def train_iter(self, optimizers: Optional[Dict[str, Any]] = None) -> None:
        """Generator + keypoint step, then (if the GAN loss is on) a discriminator step."""
        losses, self.generated = self.gen_full(self.input, self.nets["discriminator"])
        self.set_requires_grad(self.nets["discriminator"], False)
        self.optimizers["optimizer_KP"].clear_grad()
        self.optimizers["optimizer_Gen"].clear_grad()
        paddle.add_n([value.mean() for value in losses.values()]).backward()
        self.optimizers["optimizer_KP"].step()
        self.optimizers["optimizer_Gen"].step()
        self.losses = {k: float(v.mean()) for k, v in losses.items()}
        self._discriminator_step()
        self._set_visuals(self.input["source"], self.input["driving"], self.generated)

    def _discriminator_step(self) -> None:
        """LSGAN step of the discriminator on the last batch (only when the GAN loss is on)."""
        if self.train_params["loss_weights"]["generator_gan"] == 0:
            return
        self.set_requires_grad(self.nets["discriminator"], True)
        self.optimizers["optimizer_Dis"].clear_grad()
        d_losses = self.dis_full(self.input, self.generated)
        paddle.add_n([value.mean() for value in d_losses.values()]).backward()
        self.optimizers["optimizer_Dis"].step()
        self.losses.update({k: float(v.mean()) for k, v in d_losses.items()})

    def _set_visuals(self, source: paddle.Tensor, driving: paddle.Tensor,
                     generated: Mapping[str, Any]) -> None:
        """Visuals in [-1, 1] as the engine expects."""
        items = {"source": source, "driving": driving, "prediction": generated["prediction"]}
        if "deformed" in generated:
            items["deformed"] = generated["deformed"]
        self.visual_items = {k: v.detach() * 2 - 1 for k, v in items.items()}

    def test_iter(self, metrics: Optional[Dict[str, Any]] = None) -> None:
        """Reconstruct every frame of ``video`` from frame 0; update ``metrics(pred, frame)``.

        Leaves the nets in eval mode; the engine calls ``train()`` when training resumes."""
        video = self.input["video"]
        kp_detector, generator = self.nets["kp_detector"], self.nets["generator"]
        kp_detector.eval()
        generator.eval()
        with paddle.no_grad():
            source = video[:, :, 0]
            kp_source = kp_detector(source)
            for t in range(video.shape[2]):
                driving = video[:, :, t]
                out = generator(source, kp_driving=kp_detector(driving), kp_source=kp_source)
                self.test_losses.append(float(paddle.abs(out["prediction"] - driving).mean()))
                for metric in (metrics or {}).values():
                    metric.update(out["prediction"], driving)
        self._set_visuals(source, driving, out)
