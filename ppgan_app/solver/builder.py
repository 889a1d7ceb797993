"""Build Paddle optimizers and LR schedulers from ``name:``-keyed config entries."""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional, Union

import paddle

from ppgan_app.registries import LRSCHEDULERS, OPTIMIZERS
from ppgan_app.utils.registry import build_from_config

for _name in ("Adam", "AdamW", "SGD", "Momentum", "RMSProp"):
    OPTIMIZERS.register(getattr(paddle.optimizer, _name), name=_name)

LearningRate = Union[float, paddle.optimizer.lr.LRScheduler]


def build_lr_scheduler(cfg: Optional[Mapping[str, Any]]) -> Optional[paddle.optimizer.lr.LRScheduler]:
    """A scheduler from ``cfg`` (``name`` + kwargs), or None when ``cfg`` is None."""
    if cfg is None:
        return None
    return build_from_config(cfg, LRSCHEDULERS)


def build_optimizer(cfg: Mapping[str, Any], parameters: Iterable[paddle.Tensor],
                    learning_rate: LearningRate) -> paddle.optimizer.Optimizer:
    """An optimizer over ``parameters``.

    ``cfg`` holds ``name`` and the optimizer's kwargs; PaddleGAN's ``net_names`` key (which nets
    the optimizer updates) is consumed by the model, not here. ``learning_rate`` is a float or
    a scheduler; a ``learning_rate`` inside ``cfg`` wins when no scheduler is given.
    """
    cfg = {k: v for k, v in cfg.items() if k != "net_names"}
    live = {"parameters": list(parameters)}  # default_args are passed as they are, cfg is copied
    if isinstance(learning_rate, paddle.optimizer.lr.LRScheduler) or "learning_rate" not in cfg:
        cfg.pop("learning_rate", None)
        live["learning_rate"] = learning_rate  # the scheduler itself, not a copy of it
    return build_from_config(cfg, OPTIMIZERS, default_args=live)
