"""The training loop: model and data from a resolved config, periodic logs, samples,
validation and checkpoints.

    trainer = Trainer(cfg, name="dcgan_mnist")   # builds the model, makes the run folder
    trainer.train(resume=None)                    # "finished" or "interrupted"
    trainer.evaluate()                            # {metric: value}
    trainer.close()
"""
from __future__ import annotations

import copy
import datetime
import logging
import random
import time
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

import paddle
from tqdm import tqdm

from ppgan_app.engine import checkpoint as ckpt
from ppgan_app.engine.data import build_loader, endless
from ppgan_app.engine.dist import init_distributed, wrap_nets
from ppgan_app.engine.interrupt import GracefulStop
from ppgan_app.engine.run_dir import make_run_dir
from ppgan_app.registries import METRICS, MODELS
from ppgan_app.utils.config import save_config
from ppgan_app.utils.logger import add_file_handler
from ppgan_app.utils.registry import build_from_config
from ppgan_app.utils.visual import make_grid, save_image_grid

logger = logging.getLogger(__name__)


class Trainer:
    """Owns the loop, data, logging and checkpoints; the model owns nets, losses and steps.

    Args:
        cfg: a resolved config (``ppgan_app.utils.config.load_config``); not mutated.
        name: run name; the run folder is ``<output_dir>/<name>-<YYYYmmdd-HHMMSS>``.
        amp: run train steps under ``paddle.amp.auto_cast`` (GPU only; no loss scaling).
        train_data: build the train set now (False for evaluation-only runs).
    """

    def __init__(self, cfg: Mapping[str, Any], name: str = "run", amp: bool = False,
                 train_data: bool = True) -> None:
        self.rank, self.world_size = init_distributed()
        self.cfg = copy.deepcopy(dict(cfg))
        if self.cfg["seed"] is None:
            self.cfg["seed"] = random.SystemRandom().randrange(2**31)
        self.seed: int = self.cfg["seed"]
        self.amp = amp
        ckpt.seed_everything(self.seed + self.rank)
        self.model = build_from_config(self.cfg["model"], MODELS)
        self.model.setup_optimizers(self.cfg["lr_scheduler"], self.cfg["optimizer"])
        if self.world_size > 1:
            wrap_nets(self.model, self.cfg["find_unused_parameters"])
        self._train_data = (build_loader(self.cfg["dataset"]["train"], True, self.seed, self.rank,
                                         self.world_size) if train_data else None)
        self._test_loader = None
        if train_data and self.cfg["validate"] and self.rank == 0:
            self._test_loader = self._build_test_loader()  # fail now, not after hours of training
        # metrics too are built now (a missing metric checkpoint fails before training)
        self._metrics = self._build_metrics() if self._test_loader is not None else None
        self.iter = 0
        self._saved_iter = -1
        self.run_dir = make_run_dir(self.cfg["output_dir"], name, create=self.rank == 0)
        self._log_handler = self._vdl = None
        if self.rank == 0:
            save_config(self.cfg, self.run_dir / "config.yaml")
            self._log_handler = add_file_handler(self.run_dir / "train.log")
            self._vdl = _open_visualdl(self.run_dir / "visualdl") if self.cfg["enable_visualdl"] else None
            logger.info("run folder %s (seed %d, %d process(es))", self.run_dir, self.seed, self.world_size)

    # --- public --------------------------------------------------------------------
    def load_weights(self, path: str | Path, strict: bool = False) -> None:
        """Load net weights only (``--load``): a checkpoint or a ``{net: state_dict}`` file."""
        state = ckpt.load_checkpoint(path)
        ckpt.load_nets(self.model, state.get("nets", state), strict=strict)
        logger.info("loaded weights from %s", path)

    def train(self, resume: Optional[str | Path] = None) -> str:
        """Train to the configured length; return ``"finished"`` or ``"interrupted"``."""
        if self._train_data is None:
            raise RuntimeError("this Trainer was built with train_data=False")
        loader, sampler = self._train_data
        ipe = len(sampler)
        total, by_epoch = self._run_length(ipe)
        if resume is not None:
            state = ckpt.load_checkpoint(resume)
            self.iter = ckpt.restore_training_state(self.model, state)
            logger.info("resumed from %s at iteration %d", resume, self.iter)
            _warn_config_changes(state.get("config") or {}, self.cfg)
            if self.rank > 0:  # the checkpoint holds rank 0's generators: give each rank its own
                ckpt.seed_everything(self.seed + self.rank + 7919 * self.iter)
        self.model.train()
        data = endless(loader, sampler, self.iter)
        timer = _Throughput()
        bar = tqdm(total=total, initial=self.iter, disable=self.rank != 0, dynamic_ncols=True,
                   desc="train", leave=False)
        try:
            with GracefulStop(enabled=self.world_size == 1) as stop:
                while self.iter < total:
                    epoch, batch = next(data)
                    self._step(batch)
                    timer.add(_batch_len(batch) * self.world_size)
                    bar.update(1)
                    self._after_step(epoch, total, ipe if by_epoch else 1, timer)
                    if stop.requested:
                        return self._stop_early("interrupt")
        except KeyboardInterrupt:
            return self._stop_early("KeyboardInterrupt (state may be mid-iteration)")
        finally:
            bar.close()
        self.save_checkpoint()
        logger.info("finished %d iterations", self.iter)
        return "finished"

    def evaluate(self) -> Dict[str, Any]:
        """Run ``model.test_iter(metrics)`` over the test set; return the accumulated metrics."""
        test_cfg = self.cfg["dataset"].get("test")
        if test_cfg is None or self.rank != 0:
            if test_cfg is None:
                logger.warning("no dataset.test in the config: nothing to validate")
            return {}
        val_cfg = self.cfg["validate"] or {}
        metrics = self._metrics if self._metrics is not None else self._build_metrics()
        for metric in metrics.values():
            if hasattr(metric, "reset"):
                metric.reset()
        if self._test_loader is None:
            self._test_loader = self._build_test_loader()
        self.model.eval()
        with paddle.no_grad():
            for i, batch in enumerate(self._test_loader):
                self.model.setup_input(batch)
                self.model.test_iter(metrics)
                if i == 0 and val_cfg.get("save_img"):
                    self._write_visuals(self.model.get_current_visuals(), "visual_test")
        self.model.train()
        results = {k: _scalar(m.accumulate()) for k, m in metrics.items()}
        logger.info("validation at iteration %d: %s", self.iter,
                    ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                              for k, v in results.items()) or "(no metrics)")
        self._vdl_scalars({f"val/{k}": v for k, v in results.items() if isinstance(v, float)})
        return results

    def _build_metrics(self) -> Dict[str, Any]:
        val_cfg = self.cfg["validate"] or {}
        return {k: build_from_config(v, METRICS) for k, v in (val_cfg.get("metrics") or {}).items()}

    def save_checkpoint(self) -> Optional[Path]:
        """Write a checkpoint of the current iteration (rank 0; once per iteration)."""
        if self.rank != 0 or self._saved_iter == self.iter:
            return None
        path = ckpt.save_checkpoint(ckpt.training_state(self.model, self.iter, self.cfg),
                                    ckpt.checkpoint_path(self.run_dir, self.iter))
        ckpt.prune_checkpoints(self.run_dir, self.cfg["snapshot_config"].get("max_keep"))
        self._saved_iter = self.iter
        logger.info("saved checkpoint %s", path)
        return path

    def save_visuals(self) -> None:
        """Write ``model.sample_visuals()`` (no grad, eval mode) as PNG grids (rank 0)."""
        if self.rank != 0:
            return
        self.model.eval()
        with paddle.no_grad():
            visuals = self.model.sample_visuals()
        self.model.train()
        self._write_visuals(visuals, "visual")

    def close(self) -> None:
        """Release the log file and VisualDL writer."""
        if self._log_handler is not None:
            logging.getLogger("ppgan_app").removeHandler(self._log_handler)
            self._log_handler.close()
            self._log_handler = None
        if self._vdl is not None:
            self._vdl.close()
            self._vdl = None

    # --- loop pieces ----------------------------------------------------------------------
    def _step(self, batch: Mapping[str, Any]) -> None:
        self.model.current_iter = self.iter
        self.model.setup_input(batch)
        with paddle.amp.auto_cast(enable=self.amp):
            self.model.train_iter(self.model.optimizers)
        for scheduler in self.model.lr_schedulers.values():
            scheduler.step()
        self.iter += 1

    def _after_step(self, epoch: int, total: int, unit: int, timer: "_Throughput") -> None:
        """Periodic work after iteration ``self.iter``; ``unit`` scales epoch-based intervals."""
        log_cfg, snap_cfg, val_cfg = (self.cfg["log_config"], self.cfg["snapshot_config"],
                                      self.cfg["validate"])
        if _due(self.iter, log_cfg.get("interval")) or self.iter == total:
            self._log(epoch, total, timer)
        if _due(self.iter, log_cfg.get("visiual_interval")):
            self.save_visuals()
        if val_cfg and _due(self.iter, val_cfg.get("interval"), unit):
            self.evaluate()
        if _due(self.iter, snap_cfg.get("interval"), unit):
            self.save_checkpoint()

    def _log(self, epoch: int, total: int, timer: "_Throughput") -> None:
        losses = {k: float(v) for k, v in self.model.losses.items()}
        lr = _current_lr(self.model)
        ips, sec_per_iter = timer.rate()
        eta = datetime.timedelta(seconds=int(sec_per_iter * (total - self.iter)))
        logger.info("iter %d/%d epoch %d | %s | lr %.3g | %.1f img/s | eta %s", self.iter, total,
                    epoch, " ".join(f"{k} {v:.4f}" for k, v in losses.items()), lr, ips, eta)
        self._vdl_scalars({**{f"train/{k}": v for k, v in losses.items()}, "train/lr": lr,
                           "train/images_per_sec": ips})

    def _write_visuals(self, visuals: Mapping[str, Any], folder: str) -> None:
        for key, images in visuals.items():
            save_image_grid(images, self.run_dir / folder / f"iter_{self.iter:07d}_{key}.png")
            if self._vdl is not None:
                self._vdl.add_image(tag=f"{folder}/{key}", img=make_grid(images), step=self.iter)

    def _vdl_scalars(self, scalars: Mapping[str, float]) -> None:
        if self._vdl is not None:
            for tag, value in scalars.items():
                self._vdl.add_scalar(tag=tag, value=value, step=self.iter)

    def _stop_early(self, why: str) -> str:
        logger.warning("stopping at iteration %d on %s; saving a checkpoint", self.iter, why)
        self.save_checkpoint()
        return "interrupted"

    def _build_test_loader(self) -> Optional[Any]:
        """The validation loader, built once (None when the config has no ``dataset.test``)."""
        test_cfg = self.cfg["dataset"].get("test")
        return None if test_cfg is None else build_loader(test_cfg, False, self.seed)[0]

    def _run_length(self, iters_per_epoch: int) -> tuple[int, bool]:
        """(total iterations, whether the run is counted in epochs)."""
        if self.cfg["total_iters"] is not None:
            return int(self.cfg["total_iters"]), False
        return int(self.cfg["epochs"]) * iters_per_epoch, True


class _Throughput:
    """Images per second since the last ``rate()`` call, and mean seconds per iteration."""

    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.iters = self.images = 0

    def add(self, images: int) -> None:
        self.iters += 1
        self.images += images

    def rate(self) -> tuple[float, float]:
        now = time.perf_counter()
        ips = self.images / max(now - self.last, 1e-9)
        self.last, self.images = now, 0
        return ips, (now - self.start) / max(self.iters, 1)


def _due(iteration: int, interval: Optional[int], unit: int = 1) -> bool:
    return bool(interval) and iteration % (int(interval) * unit) == 0


def _batch_len(batch: Any) -> int:
    """Number of items in a batch (first dimension of its first tensor)."""
    values = batch.values() if isinstance(batch, Mapping) else batch
    for value in values:
        if hasattr(value, "shape") and len(value.shape) > 0:
            return int(value.shape[0])
    return 1


def _current_lr(model: Any) -> float:
    for opt in model.optimizers.values():
        return float(opt.get_lr())
    return float("nan")


def _scalar(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def _warn_config_changes(saved: Mapping[str, Any], current: Mapping[str, Any]) -> None:
    """Warn when a resumed run's config differs from the checkpoint's (run length aside)."""
    ignored = {"total_iters", "epochs", "output_dir", "log_config", "snapshot_config", "validate"}
    changed = sorted(k for k in set(saved) | set(current)
                     if k not in ignored and saved.get(k) != current.get(k))
    if changed:
        logger.warning("resuming with a config that differs from the checkpoint's in %s", changed)


def _open_visualdl(logdir: Path) -> Any:
    """A VisualDL ``LogWriter`` when the package is installed, else None."""
    try:
        from visualdl import LogWriter  # optional dependency
    except ImportError:
        logger.debug("visualdl is not installed; no VisualDL logs")
        return None
    return LogWriter(logdir=str(logdir))
