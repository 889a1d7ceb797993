"""The contract between a model and the training engine (PaddleGAN's, kept).

A model owns its networks, losses and optimizer steps; the engine owns the loop, data,
logging and checkpoints. Models never touch files: weights they start from are listed by
``pretrained_weights()`` and loaded by the caller.

Engine-facing attributes:
    nets:          name -> ``paddle.nn.Layer`` (checkpointed, e.g. ``{"netG": ..., "netD": ...}``)
    optimizers:    name -> optimizer (checkpointed)
    lr_schedulers: name -> scheduler (checkpointed, stepped once per iteration by the engine)
    losses:        name -> float, the last iteration's scalar losses (logged)
    visual_items:  name -> ``[N, C, H, W]`` float32 tensor in [-1, 1] (saved as sample grids)
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Dict, List, Mapping, Optional

import paddle

from ppgan_app.models.pretrained import PretrainedWeights
from ppgan_app.solver import build_lr_scheduler, build_optimizer


class BaseModel:
    """Base class of every trainable model.

    Subclasses fill ``self.nets`` in ``__init__`` and implement ``setup_input`` and
    ``train_iter``; ``test_iter`` defaults to a no-grad forward of ``visual_items``.
    """

    def __init__(self) -> None:
        self.nets: Dict[str, paddle.nn.Layer] = OrderedDict()
        self.optimizers: Dict[str, paddle.optimizer.Optimizer] = OrderedDict()
        self.lr_schedulers: Dict[str, paddle.optimizer.lr.LRScheduler] = OrderedDict()
        self.losses: Dict[str, float] = OrderedDict()
        self.visual_items: Dict[str, paddle.Tensor] = OrderedDict()
        self.current_iter = 0

    # --- what subclasses implement -------------------------------------------------
    def setup_input(self, batch: Mapping[str, Any]) -> None:
        """Take one batch from the data loader (a dict of tensors)."""
        raise NotImplementedError

    def train_iter(self, optimizers: Optional[Dict[str, Any]] = None) -> None:
        """One training iteration on the last input; fills ``losses`` and ``visual_items``."""
        raise NotImplementedError

    def test_iter(self, metrics: Optional[Dict[str, Any]] = None) -> None:
        """Evaluate on the last input and update ``metrics`` (name -> metric object)."""
        raise NotImplementedError

    # --- shared machinery ------------------------------------------------------------
    def setup_optimizers(self, lr_cfg: Optional[Mapping[str, Any]],
                         optimizer_cfg: Mapping[str, Any]) -> Dict[str, paddle.optimizer.Optimizer]:
        """Build optimizers (and one LR scheduler per optimizer) from config.

        ``optimizer_cfg`` is either one optimizer entry (``name: Adam, ...``), which then
        updates every net, or a mapping of named entries each with ``net_names``
        (PaddleGAN's layout). ``lr_cfg`` is a scheduler entry shared in form by all
        optimizers (each gets its own instance so that each is checkpointed), or None.
        """
        entries = ({"optimizer": optimizer_cfg} if "name" in optimizer_cfg
                   else dict(optimizer_cfg))
        for opt_name, entry in entries.items():
            net_names = entry.get("net_names", list(self.nets))
            missing = [n for n in net_names if n not in self.nets]
            if missing:
                raise KeyError(f"optimizer {opt_name!r} names nets {missing} that the model lacks; "
                               f"it has {list(self.nets)}")
            params = [p for n in net_names for p in self.nets[n].parameters()]
            scheduler = build_lr_scheduler(lr_cfg)
            learning_rate: Any = scheduler if scheduler is not None else entry.get("learning_rate", 2e-4)
            self.optimizers[opt_name] = build_optimizer(entry, params, learning_rate)
            if scheduler is not None:
                self.lr_schedulers[opt_name] = scheduler
        return self.optimizers

    def pretrained_weights(self) -> List[PretrainedWeights]:
        """Networks to fill from published weight files before training (none by default);
        the caller loads them (:func:`ppgan_app.weights.reader.load_pretrained`)."""
        return []

    def checkpoint_config(self, config: Mapping[str, Any]) -> Dict[str, Any]:
        """The config a checkpoint of this model carries: ``config`` itself, plus whatever a
        model must add so that readers rebuild its nets from the checkpoint alone."""
        return dict(config)

    def get_current_losses(self) -> Dict[str, float]:
        return dict(self.losses)

    def get_current_visuals(self) -> Dict[str, paddle.Tensor]:
        return dict(self.visual_items)

    def sample_visuals(self) -> Dict[str, paddle.Tensor]:
        """Images for the engine's periodic sample grid (called under no_grad, eval mode).

        Default: the last iteration's ``visual_items``. Generative models override this to
        draw from a fixed noise batch so that grids are comparable across iterations.
        """
        return self.get_current_visuals()

    def train(self) -> None:
        for net in self.nets.values():
            net.train()

    def eval(self) -> None:
        for net in self.nets.values():
            net.eval()

    @staticmethod
    def set_requires_grad(nets: Any, requires_grad: bool) -> None:
        """Freeze (False) or unfreeze (True) every parameter of one net or a list of nets."""
        for net in nets if isinstance(nets, (list, tuple)) else [nets]:
            for param in net.parameters():
                param.stop_gradient = not requires_grad
