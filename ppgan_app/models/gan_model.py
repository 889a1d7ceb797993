"""The classic GAN (Goodfellow et al., 2014, Algorithm 1), DCGAN, and their conditional forms.

Algorithm 1 alternates k discriminator steps with one generator step. The engine hands
the model one real batch per iteration, so the k D-steps are k consecutive iterations,
each with a fresh real batch and fresh noise: every iteration updates D, and G is updated
on every ``disc_iters``-th iteration (PaddleGAN's ``disc_iters``). During the first
``disc_start_iters`` iterations only D is trained.

Symbols: ``x`` real images ``[N, C, H, W]`` in [-1, 1]; ``z ~ N(0, I)`` noise ``[N, nz]``;
``y`` labels ``[N]`` int64 (conditional models); ``D(.)`` discriminator logits ``[N]``.
"""
from __future__ import annotations

import copy
import logging
from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np
import paddle

from ppgan_app.errors import ConfigError
from ppgan_app.models.base_model import BaseModel
from ppgan_app.models.criterions.gan_loss import gradient_penalty
from ppgan_app.models.diffaugment import diff_augment, parse_policy
from ppgan_app.models.init import init_weights
from ppgan_app.registries import CRITERIONS, DISCRIMINATORS, GENERATORS, MODELS
from ppgan_app.utils.registry import build_from_config

logger = logging.getLogger(__name__)

GENERATOR_LOSSES = ("non_saturating", "saturating")
WGAN_CLIP_VALUE = 0.01  # Arjovsky et al.'s c
EMA_STAT_BATCHES = 16   # noise batches that re-estimate netG_ema's batch-norm statistics


def _as_tensor(value: Any) -> paddle.Tensor:
    return value if isinstance(value, paddle.Tensor) else paddle.to_tensor(value)


@MODELS.register
class GANModel(BaseModel):
    """Adversarial training of ``netG`` against ``netD``.

    Args:
        generator: GENERATORS entry; the net has ``nz`` and ``n_class`` attributes.
        discriminator: DISCRIMINATORS entry with the same ``n_class``.
        gan_criterion: CRITERIONS entry (default ``GANLoss`` with ``gan_mode: vanilla``).
        generator_loss: ``non_saturating`` (minimise ``-log D(G(z))``) or ``saturating``
            (minimise ``log(1 - D(G(z)))``, the paper's minimax equation); log-loss modes only.
        disc_iters: k, D updates per G update.
        disc_start_iters: iterations at the start that update D only.
        clip_value: clip D's weights to [-c, c] after each D step; default 0.01 for ``wgan``,
            none otherwise.
        gp_weight: lambda of the gradient penalty (``wgangp`` only).
        init_type, init_gain: re-initialise both nets (see ``models.init``); None keeps
            Paddle's default initialisation.
        num_samples: images in the fixed-noise sample grid.
        sample_seed: seed of the fixed noise (a private numpy generator; global RNG untouched).
        ema_decay: keep ``netG_ema``, an exponential moving average of G's weights
            (``ema = decay * ema + (1 - decay) * G`` after each G step; buffers copied), and use
            it for sampling and evaluation; None: no EMA copy.
        ema_start: G steps during which ``netG_ema`` simply copies G (the average starts after).
        diffaugment: DiffAugment policy applied to every image D sees, e.g.
            ``"translation,cutout"`` (see ``models.diffaugment``); None for none.
    """

    def __init__(self, generator: Mapping[str, Any], discriminator: Mapping[str, Any],
                 gan_criterion: Optional[Mapping[str, Any]] = None,
                 generator_loss: str = "non_saturating", disc_iters: int = 1, disc_start_iters: int = 0,
                 clip_value: Optional[float] = None, gp_weight: float = 10.0,
                 init_type: Optional[str] = None, init_gain: float = 0.02,
                 num_samples: int = 64, sample_seed: int = 0, ema_decay: Optional[float] = None,
                 ema_start: int = 0, diffaugment: Optional[str] = None) -> None:
        super().__init__()
        self.nets["netG"] = build_from_config(generator, GENERATORS)
        self.nets["netD"] = build_from_config(discriminator, DISCRIMINATORS)
        self.criterion = build_from_config(gan_criterion or {"name": "GANLoss", "gan_mode": "vanilla"},
                                           CRITERIONS)
        if generator_loss not in GENERATOR_LOSSES:
            raise ValueError(f"generator_loss must be one of {GENERATOR_LOSSES}, got {generator_loss!r}")
        if generator_loss == "saturating" and not self.criterion.is_log_loss:
            raise ValueError(f"generator_loss 'saturating' needs a log-loss criterion "
                             f"(vanilla/non_saturating), not {self.criterion.gan_mode!r}")
        if disc_iters < 1 or disc_start_iters < 0:
            raise ValueError(f"need disc_iters >= 1 and disc_start_iters >= 0, got {disc_iters}, "
                             f"{disc_start_iters}")
        self.saturating = generator_loss == "saturating"
        self.disc_iters, self.disc_start_iters = int(disc_iters), int(disc_start_iters)
        self.clip_value = clip_value if clip_value is not None else (
            WGAN_CLIP_VALUE if self.criterion.gan_mode == "wgan" else None)
        self.gp_weight = float(gp_weight)
        self.nz = int(self.nets["netG"].nz)
        self.n_class = int(getattr(self.nets["netG"], "n_class", 0))
        self._check_conditioning()
        if init_type is not None:
            for net in self.nets.values():
                init_weights(net, init_type, init_gain)
        self._fixed_z, self._fixed_y = self._fixed_noise(num_samples, sample_seed)
        self.augment_policy = parse_policy(diffaugment)
        self.ema_decay, self.ema_start = self._check_ema(ema_decay, ema_start), int(ema_start)
        self._ema_version, self._ema_stats_version = 1, 0  # batch-norm statistics of netG_ema are stale
        if self.ema_decay is not None:
            self.nets["netG_ema"] = self._make_ema(self.nets["netG"])
        logger.info("%s: %s loss (%s G), D steps per G step %d, D-only iterations %d, %s classes",
                    type(self).__name__, self.criterion.gan_mode, generator_loss if self.criterion.is_log_loss
                    else "standard", self.disc_iters, self.disc_start_iters, self.n_class or "no")
        self._optimizer_of: Dict[str, str] = {}
        self.real: Optional[paddle.Tensor] = None
        self.class_id: Optional[paddle.Tensor] = None

    # --- set-up -------------------------------------------------------------------------
    def _check_conditioning(self) -> None:
        d_class = int(getattr(self.nets["netD"], "n_class", 0))
        if d_class != self.n_class:
            raise ValueError(f"generator has n_class={self.n_class} but discriminator has n_class={d_class}")

    @staticmethod
    def _check_ema(decay: Optional[float], start: int) -> Optional[float]:
        if decay is not None and not 0.0 < float(decay) < 1.0:
            raise ValueError(f"ema_decay must be in (0, 1), got {decay}")
        if int(start) < 0:
            raise ValueError(f"ema_start must be >= 0, got {start}")
        return None if decay is None else float(decay)

    @staticmethod
    def _make_ema(net: paddle.nn.Layer) -> paddle.nn.Layer:
        """A frozen copy of ``net`` (no gradients, never given to an optimizer)."""
        ema = copy.deepcopy(net)
        for param in ema.parameters():
            param.stop_gradient = True
        return ema

    def _fixed_noise(self, num: int, seed: int) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """``z``: ``[num, nz]`` float32 from a private generator; ``y``: labels cycling 0..n_class-1."""
        rng = np.random.RandomState(seed)
        z = rng.standard_normal((num, self.nz)).astype("float32")
        y = (np.arange(num) % self.n_class).astype("int64") if self.n_class else None
        return z, y

    def setup_optimizers(self, lr_cfg: Optional[Mapping[str, Any]],
                         optimizer_cfg: Mapping[str, Any]) -> Dict[str, paddle.optimizer.Optimizer]:
        """As ``BaseModel``, but each of netG, netD must belong to exactly one optimizer."""
        if "name" in optimizer_cfg:
            raise ValueError("a GAN needs one optimizer per net, e.g. optimizer: {optimizer_G: "
                             "{name: Adam, net_names: [netG]}, optimizer_D: {name: Adam, net_names: [netD]}}")
        optimizers = super().setup_optimizers(lr_cfg, optimizer_cfg)
        for opt_name, entry in optimizer_cfg.items():
            for net_name in entry.get("net_names", list(self.nets)):
                if net_name in self._optimizer_of:
                    raise ValueError(f"{net_name} is updated by both {self._optimizer_of[net_name]!r} "
                                     f"and {opt_name!r}")
                self._optimizer_of[net_name] = opt_name
        missing = [n for n in self.nets if n not in self._optimizer_of and n != "netG_ema"]
        if missing:
            raise ValueError(f"no optimizer updates {missing}; list them in some optimizer's net_names")
        return optimizers

    # --- the contract ----------------------------------------------------------------
    def setup_input(self, batch: Mapping[str, Any]) -> None:
        """``batch``: ``img`` ``[N, C, H, W]`` float32 in [-1, 1]; ``class_id`` ``[N]`` int64 (conditional)."""
        self.real = _as_tensor(batch["img"]).astype("float32")
        self._check_image_shape(list(self.real.shape[1:]))
        self.class_id = None
        if self.n_class:
            if "class_id" not in batch:
                raise KeyError("a conditional GAN needs 'class_id' labels in each batch")
            self.class_id = _as_tensor(batch["class_id"]).astype("int64").reshape([-1])

    def _check_image_shape(self, shape: list) -> None:
        """Raise ``ConfigError`` when the data's ``[C, H, W]`` is not what the nets make."""
        net = self.nets["netG"]
        size, channels = getattr(net, "img_size", None), getattr(net, "output_nc", None)
        if size is None or channels is None or shape == [channels, size, size]:
            return
        raise ConfigError(f"the data's images are {shape[1]}x{shape[2]} with {shape[0]} channel(s) but "
                          f"the nets make {size}x{size} with {channels}: add {{name: Resize, size: {size}}} "
                          f"to dataset.train.transforms, or set model.generator.img_size and "
                          f"model.discriminator.img_size (and output_nc / input_nc) to the data's")

    def is_generator_step(self, step: int) -> bool:
        """True when iteration ``step`` (0-based) ends a group of ``disc_iters`` D-steps."""
        if step < self.disc_start_iters:
            return False
        return (step - self.disc_start_iters + 1) % self.disc_iters == 0

    def train_iter(self, optimizers: Optional[Dict[str, Any]] = None) -> None:
        """One D step, then one G step if this iteration completes ``disc_iters`` D steps."""
        optimizers = optimizers or self.optimizers
        step = self.current_iter
        netG, netD = self.nets["netG"], self.nets["netD"]
        z = paddle.randn([self.real.shape[0], self.nz])
        g_step = self.is_generator_step(step)
        if g_step:
            fake = netG(z, self.class_id)
        else:
            with paddle.no_grad():
                fake = netG(z, self.class_id)
        self._step_discriminator(optimizers[self._opt_name("netD")], fake)
        if g_step:
            self._step_generator(optimizers[self._opt_name("netG")], fake)
            self._update_ema(step)
        self.visual_items["real"] = self.real
        self.visual_items["fake"] = fake.detach()
        self.current_iter = step + 1

    def _opt_name(self, net_name: str) -> str:
        if net_name not in self._optimizer_of:
            raise RuntimeError("call setup_optimizers before train_iter")
        return self._optimizer_of[net_name]

    def _step_discriminator(self, optimizer: paddle.optimizer.Optimizer, fake: paddle.Tensor) -> None:
        """Descend D's loss: ascend log D(x) + log(1 - D(G(z))) for the log loss."""
        netD = self.nets["netD"]
        d_real = netD(self._augment(self.real), self.class_id)
        d_fake = netD(self._augment(fake.detach()), self.class_id)
        loss_d = self.criterion.discriminator_loss(d_real, d_fake)
        if self.criterion.gan_mode == "wgangp":
            penalty = gradient_penalty(netD, self.real, fake, self.class_id)
            self.losses["D_gp"] = float(penalty)
            loss_d = loss_d + self.gp_weight * penalty
        optimizer.clear_grad()
        loss_d.backward()
        optimizer.step()
        if self.clip_value is not None:
            self._clip_discriminator()
        self.losses["D_loss"] = float(loss_d)
        self.losses["D_real"] = float(d_real.mean())
        self.losses["D_fake"] = float(d_fake.mean())

    def _step_generator(self, optimizer: paddle.optimizer.Optimizer, fake: paddle.Tensor) -> None:
        """Descend G's loss with D frozen."""
        netD = self.nets["netD"]
        self.set_requires_grad(netD, False)
        loss_g = self.criterion.generator_loss(netD(self._augment(fake), self.class_id),
                                               saturating=self.saturating)
        optimizer.clear_grad()
        loss_g.backward()
        optimizer.step()
        self.set_requires_grad(netD, True)
        self.losses["G_loss"] = float(loss_g)

    def _augment(self, images: paddle.Tensor) -> paddle.Tensor:
        return diff_augment(images, self.augment_policy) if self.augment_policy else images

    def _update_ema(self, step: int) -> None:
        """After the G step of iteration ``step``: move ``netG_ema`` towards G (a plain copy
        during the first ``ema_start`` G steps; the count follows from ``step``, so a resumed
        run continues the same schedule)."""
        if self.ema_decay is None:
            return
        g_steps = (step - self.disc_start_iters + 1) // self.disc_iters
        decay = 0.0 if g_steps <= self.ema_start else self.ema_decay
        ema_state = self.nets["netG_ema"].state_dict()
        with paddle.no_grad():
            for name, value in self.nets["netG"].state_dict().items():
                target = ema_state[name]
                if decay and paddle.is_floating_point(value) and not name.endswith(("_mean", "_variance")):
                    target.set_value(decay * target + (1.0 - decay) * value)
                else:  # batch-norm statistics (recomputed before sampling) and integer buffers follow G
                    target.set_value(value)
        self._ema_version += 1

    def refresh_ema_statistics(self, batches: int = EMA_STAT_BATCHES, batch_size: int = 64, seed: int = 0) -> None:
        """Recompute ``netG_ema``'s batch-norm running statistics for its own (averaged) weights.

        G's statistics do not fit the averaged weights (samples in eval mode come out wrong), so,
        as StudioGAN's "standing statistics", the EMA net runs ``batches`` noise batches in train
        mode and each batch-norm layer keeps the plain average of their statistics. The noise
        comes from a private generator (``seed``): the result is deterministic, the global random
        state untouched. No-op without an EMA net or batch norm, or when already fresh.
        """
        net = self.nets.get("netG_ema")
        if net is None or self._ema_stats_version == self._ema_version:
            return
        norms = [m for m in net.sublayers() if isinstance(m, paddle.nn.layer.norm._BatchNormBase)]
        if norms:
            rng = np.random.RandomState(seed)
            saved = [m._momentum for m in norms]
            was_training = net.training
            net.train()
            with paddle.no_grad():
                for k in range(batches):
                    for m in norms:  # running = m * running + (1 - m) * batch: a cumulative mean
                        m._momentum = k / (k + 1.0)
                    z = paddle.to_tensor(rng.standard_normal((batch_size, self.nz)).astype("float32"))
                    y = (paddle.to_tensor(rng.randint(0, self.n_class, batch_size).astype("int64"))
                         if self.n_class else None)
                    net(z, y)
            for m, momentum in zip(norms, saved):
                m._momentum = momentum
            if not was_training:
                net.eval()
        self._ema_stats_version = self._ema_version

    def _clip_discriminator(self) -> None:
        with paddle.no_grad():
            for param in self.nets["netD"].parameters():
                param.set_value(paddle.clip(param, -self.clip_value, self.clip_value))

    @property
    def sampling_net(self) -> paddle.nn.Layer:
        """The generator used for samples and evaluation: ``netG_ema`` when kept, else ``netG``."""
        return self.nets.get("netG_ema", self.nets["netG"])

    def generate(self, z: paddle.Tensor, class_id: Optional[paddle.Tensor] = None) -> paddle.Tensor:
        """``G(z, y)`` with the sampling net: ``[N, C, H, W]`` in [-1, 1]."""
        self.refresh_ema_statistics()
        return self.sampling_net(z, class_id)

    def sample_visuals(self) -> Dict[str, paddle.Tensor]:
        """``fake_fixed``: G on a fixed noise batch (labels cycle through the classes)."""
        y = paddle.to_tensor(self._fixed_y) if self._fixed_y is not None else None
        return {"fake_fixed": self.generate(paddle.to_tensor(self._fixed_z), y)}

    def test_iter(self, metrics: Optional[Dict[str, Any]] = None) -> None:
        """Generate as many images as the real batch (same labels) and update ``metrics(fake, real)``."""
        with paddle.no_grad():
            fake = self.generate(paddle.randn([self.real.shape[0], self.nz]), self.class_id)
        self.visual_items["real"] = self.real
        self.visual_items["fake"] = fake
        for metric in (metrics or {}).values():
            metric.update(fake, self.real)


@MODELS.register
class DCGANModel(GANModel):
    """``GANModel`` with DCGAN's initialisation (conv N(0, 0.02), batch-norm scale N(1, 0.02))."""

    def __init__(self, generator: Mapping[str, Any], discriminator: Mapping[str, Any],
                 init_type: Optional[str] = "dcgan", **kwargs: Any) -> None:
        super().__init__(generator, discriminator, init_type=init_type, **kwargs)


@MODELS.register
class ConditionalGANModel(GANModel):
    """``GANModel`` whose nets must be class-conditional; batches must carry ``class_id``."""

    def __init__(self, generator: Mapping[str, Any], discriminator: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(generator, discriminator, **kwargs)
        if self.n_class == 0:
            raise ValueError("ConditionalGANModel needs a conditional generator and discriminator "
                             "(n_class > 0), e.g. ConditionalDCGANGenerator")
