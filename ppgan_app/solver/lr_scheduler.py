"""Learning-rate schedulers: Paddle's own, plus PaddleGAN's ``LinearDecay``."""
from __future__ import annotations

import paddle
from paddle.optimizer.lr import LRScheduler

from ppgan_app.registries import LRSCHEDULERS

for _name in ("MultiStepDecay", "StepDecay", "CosineAnnealingDecay", "ExponentialDecay",
              "PiecewiseDecay", "LinearWarmup"):
    LRSCHEDULERS.register(getattr(paddle.optimizer.lr, _name), name=_name)


@LRSCHEDULERS.register
class ConstantLR(LRScheduler):
    """A fixed learning rate, as a scheduler so that it is checkpointed like the others."""

    def __init__(self, learning_rate: float, last_epoch: int = -1) -> None:
        super().__init__(learning_rate, last_epoch)

    def get_lr(self) -> float:
        return self.base_lr


@LRSCHEDULERS.register
class LinearDecay(LRScheduler):
    """Constant for ``start_epoch`` steps, then linear decay to 0 over ``decay_epochs`` steps.

    ``step()`` is called once per iteration by the trainer, so "epochs" here count steps,
    as in PaddleGAN when its trainer steps the scheduler per iteration.
    """

    def __init__(self, learning_rate: float, start_epoch: int, decay_epochs: int,
                 iters_per_epoch: int = 1, last_epoch: int = -1) -> None:
        self.start_epoch = start_epoch
        self.decay_epochs = decay_epochs
        self.iters_per_epoch = max(1, iters_per_epoch)
        super().__init__(learning_rate, last_epoch)

    def get_lr(self) -> float:
        epoch = self.last_epoch // self.iters_per_epoch
        factor = 1.0 - max(0, epoch - self.start_epoch) / float(self.decay_epochs + 1)
        return self.base_lr * max(0.0, factor)
