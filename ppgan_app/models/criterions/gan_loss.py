"""Adversarial losses on discriminator logits.

Symbols: ``D(x)`` is the discriminator's raw score (a logit) for a real image ``x``,
``D(G(z))`` for a generated one. Scores are ``[N]`` or ``[N, ...]`` float32 tensors; every
loss is a scalar mean. All losses are written to be *minimised*.

Modes (``gan_mode``):
    vanilla / non_saturating: Goodfellow et al.'s log loss. D minimises
        ``-log sigmoid(D(x)) - log(1 - sigmoid(D(G(z))))``. G minimises
        ``-log sigmoid(D(G(z)))`` (non-saturating, PaddleGAN's "vanilla"), or with
        ``saturating=True`` the paper's minimax form ``log(1 - sigmoid(D(G(z))))``.
    lsgan:  D ``(D(x) - 1)^2 + D(G(z))^2``, G ``(D(G(z)) - 1)^2`` (Mao et al.).
    wgan:   D ``D(G(z)) - D(x)``, G ``-D(G(z))``; the model clips D's weights.
    wgangp: as wgan, plus ``gradient_penalty`` added by the model (Gulrajani et al.).
    hinge:  D ``relu(1 - D(x)) + relu(1 + D(G(z)))``, G ``-D(G(z))``.
"""
from __future__ import annotations

from typing import Optional

import paddle
import paddle.nn.functional as F
from paddle import nn

from ppgan_app.registries import CRITERIONS

GAN_MODES = ("vanilla", "non_saturating", "lsgan", "wgan", "wgangp", "hinge")
LOG_LOSS_MODES = ("vanilla", "non_saturating")
_ALIASES = {"non-saturating": "non_saturating", "nonsaturating": "non_saturating",
            "wgan-gp": "wgangp", "wgan_gp": "wgangp"}


def canonical_gan_mode(gan_mode: str) -> str:
    """The canonical spelling of ``gan_mode``; unknown modes raise ``ValueError``."""
    mode = _ALIASES.get(gan_mode, gan_mode)
    if mode not in GAN_MODES:
        raise ValueError(f"unknown gan_mode {gan_mode!r}; choose one of {GAN_MODES}")
    return mode


@CRITERIONS.register
class GANLoss(nn.Layer):
    """Discriminator and generator losses of one adversarial objective.

    Args:
        gan_mode: one of ``vanilla``, ``non_saturating``, ``lsgan``, ``wgan``, ``wgangp``, ``hinge``.
        loss_weight: multiplies every returned loss.
    """

    def __init__(self, gan_mode: str = "vanilla", loss_weight: float = 1.0) -> None:
        super().__init__()
        self.gan_mode = canonical_gan_mode(gan_mode)
        self.loss_weight = float(loss_weight)

    @property
    def is_log_loss(self) -> bool:
        return self.gan_mode in LOG_LOSS_MODES

    @property
    def is_wasserstein(self) -> bool:
        return self.gan_mode in ("wgan", "wgangp")

    def _d_real_term(self, real_logits: paddle.Tensor) -> paddle.Tensor:
        mode = self.gan_mode
        if mode in LOG_LOSS_MODES:
            return F.softplus(-real_logits).mean()
        if mode == "lsgan":
            return ((real_logits - 1.0) ** 2).mean()
        if mode == "hinge":
            return F.relu(1.0 - real_logits).mean()
        return -real_logits.mean()

    def _d_fake_term(self, fake_logits: paddle.Tensor) -> paddle.Tensor:
        mode = self.gan_mode
        if mode in LOG_LOSS_MODES:
            return F.softplus(fake_logits).mean()
        if mode == "lsgan":
            return (fake_logits ** 2).mean()
        if mode == "hinge":
            return F.relu(1.0 + fake_logits).mean()
        return fake_logits.mean()

    def discriminator_loss(self, real_logits: paddle.Tensor, fake_logits: paddle.Tensor) -> paddle.Tensor:
        """D's loss from its scores on a real batch and a generated batch (any shapes)."""
        return self.loss_weight * (self._d_real_term(real_logits) + self._d_fake_term(fake_logits))

    def generator_loss(self, fake_logits: paddle.Tensor, saturating: bool = False) -> paddle.Tensor:
        """G's loss from D's scores on generated images.

        ``saturating=True`` selects the paper's ``log(1 - D(G(z)))`` (log-loss modes only).
        """
        if saturating and not self.is_log_loss:
            raise ValueError(f"the saturating generator loss needs gan_mode in {LOG_LOSS_MODES}, "
                             f"not {self.gan_mode!r}")
        if self.is_log_loss:
            # log(1 - sigmoid(a)) = -softplus(a);  -log(sigmoid(a)) = softplus(-a)
            loss = -F.softplus(fake_logits).mean() if saturating else F.softplus(-fake_logits).mean()
        elif self.gan_mode == "lsgan":
            loss = ((fake_logits - 1.0) ** 2).mean()
        else:
            loss = -fake_logits.mean()
        return self.loss_weight * loss

    def forward(self, logits: paddle.Tensor, target_is_real: bool, is_disc: bool = True) -> paddle.Tensor:
        """PaddleGAN's call form: the loss of ``logits`` against one target.

        For D (``is_disc=True``) this is one half of ``discriminator_loss``; for G
        (``is_disc=False``, target real) it is the non-saturating ``generator_loss``.
        """
        if not is_disc:
            if not target_is_real:
                raise ValueError("a generator loss targets 'real'; pass target_is_real=True")
            return self.generator_loss(logits)
        term = self._d_real_term(logits) if target_is_real else self._d_fake_term(logits)
        return self.loss_weight * term

def gradient_penalty(net_d: nn.Layer, real: paddle.Tensor, fake: paddle.Tensor,
                     class_id: Optional[paddle.Tensor] = None) -> paddle.Tensor:
    """WGAN-GP's penalty ``E[(||grad_x D(x_hat)||_2 - 1)^2]`` at random interpolates.

    Args:
        net_d: the critic, called as ``net_d(x)`` or ``net_d(x, class_id)``.
        real, fake: ``[N, C, H, W]`` batches (``fake`` is detached here).
        class_id: ``[N]`` int64 labels for a conditional critic, else None.

    Returns:
        A scalar, differentiable with respect to ``net_d``'s parameters. The critic must
        avoid ops without double gradients in Paddle (layer norm, flatten): use reshape and
        no norm or instance norm.
    """
    n = real.shape[0]
    alpha = paddle.rand([n] + [1] * (len(real.shape) - 1), dtype=real.dtype)
    x_hat = alpha * real.detach() + (1.0 - alpha) * fake.detach()
    x_hat.stop_gradient = False
    scores = net_d(x_hat) if class_id is None else net_d(x_hat, class_id)
    (grad,) = paddle.grad(scores.sum(), x_hat, create_graph=True)
    norms = paddle.sqrt((grad.reshape([n, -1]) ** 2).sum(axis=1) + 1e-12)
    return ((norms - 1.0) ** 2).mean()
