"""The training loop: model and data from a resolved config, periodic logs, samples,
validation and checkpoints.

    trainer = Trainer(cfg, name="dcgan_mnist")   # checks output_dir, builds model and data
    trainer.train(resume=None)                    # "finished" or "interrupted" (trainer.stop_signal)
    trainer.evaluate()                            # {metric: value}
    trainer.close()
"""
from __future__ import annotations

import copy
import datetime
import itertools
import logging
import math
import random
import time
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

import paddle
from tqdm import tqdm

from ppgan_app.engine import checkpoint as ckpt
from ppgan_app.engine.data import build_loader, endless, worker_error, worker_errors
from ppgan_app.engine.dist import init_distributed, wrap_nets
from ppgan_app.engine.interrupt import GracefulStop
from ppgan_app.engine.run_dir import check_output_dir, create_run_dir, make_run_dir
from ppgan_app.errors import (ConfigError, OutputError, Terminated, TrainingDivergedError,
                              describe_os_error)
from ppgan_app.registries import METRICS, MODELS
from ppgan_app.utils.config import MAX_ITERS, save_config
from ppgan_app.utils.safe_files import remove_quietly
from ppgan_app.utils.logger import add_file_handler
from ppgan_app.utils.registry import build_from_config
from ppgan_app.utils.visual import make_grid, save_image_grid
from ppgan_app.weights.reader import load_pretrained

logger = logging.getLogger(__name__)

#: With ``nan_policy: skip``, this many bad batches in a row end the run as diverged.
MAX_SKIPS_IN_A_ROW = 10


class Trainer:
    """Owns the loop, data, logging and checkpoints; the model owns nets, losses and steps.

    Args:
        cfg: a resolved config (``ppgan_app.utils.config.load_config``); not mutated.
        name: run name; the run folder is ``<output_dir>/<name>-<YYYYmmdd-HHMMSS>``, created
            when the run first writes (a run that fails before its first iteration leaves none).
        amp: run train steps under ``paddle.amp.auto_cast`` (GPU only; no loss scaling).
        train_data: build the train set now (False for evaluation-only runs).
        cpu_threads: the CPU math threads this process computes with (set by the caller), kept
            in checkpoints: resuming with another count warns that the run will not equal an
            uninterrupted one. None: not known.
    """

    def __init__(self, cfg: Mapping[str, Any], name: str = "run", amp: bool = False,
                 train_data: bool = True, cpu_threads: Optional[int] = None) -> None:
        self.rank, self.world_size = init_distributed()
        self.cfg = copy.deepcopy(dict(cfg))
        if self.rank == 0:
            check_output_dir(self.cfg["output_dir"])  # before anything expensive is built
        if self.cfg["seed"] is None:
            self.cfg["seed"] = random.SystemRandom().randrange(2**31)
        self.seed: int = self.cfg["seed"]
        self.amp = amp
        self.cpu_threads = cpu_threads
        self._skip_bad = self.cfg["nan_policy"] == "skip"
        if self._skip_bad and self.world_size > 1:
            raise ConfigError("nan_policy: skip works in single-process runs only (ranks could "
                              "disagree on which batch to skip); use nan_policy: stop")
        self._skipped_in_a_row = 0
        ckpt.seed_everything(self.seed + self.rank)
        self.model = build_from_config(self.cfg["model"], MODELS)
        load_pretrained(self.model)      # e.g. VGG19 of a perceptual loss, a distillation teacher
        self.model.setup_optimizers(self.cfg["lr_scheduler"], self.cfg["optimizer"])
        if self.world_size > 1:
            wrap_nets(self.model, self.cfg["find_unused_parameters"])
        self._train_data = (build_loader(self.cfg["dataset"]["train"], True, self.seed, self.rank,
                                         self.world_size) if train_data else None)
        if self._train_data is not None:
            self._run_length(len(self._train_data[1]))  # an impossible length fails now
        self._test_loader = None
        if train_data and self.cfg["validate"] and self.rank == 0:
            self._test_loader = self._build_test_loader()  # fail now, not after hours of training
        # metrics too are built now (a missing metric checkpoint fails before training)
        self._metrics = self._build_metrics() if self._test_loader is not None else None
        self.iter = 0
        self._saved_iter = -1
        self._in_step = self._final_save = False
        self._first_iter = 1  # the first iteration of a train() call is always logged
        self.stop_signal: Optional[str] = None  # "SIGINT" or "SIGTERM" when train() was stopped
        self.run_dir = make_run_dir(self.cfg["output_dir"], name, create=False)
        self._run_dir_made = False
        self._log_handler = self._vdl = None

    # --- public --------------------------------------------------------------------
    def load_weights(self, path: str | Path, strict: bool = False) -> None:
        """Load net weights only (``--load``): a checkpoint or a ``{net: state_dict}`` file."""
        state = ckpt.load_checkpoint(path)
        if not isinstance(state, Mapping):
            raise ckpt.CheckpointError(f"{path} holds a {type(state).__name__}, not weights")
        nets = state.get("nets", state)
        if not isinstance(nets, Mapping):
            raise ckpt.CheckpointError(f"{path}: 'nets' holds a {type(nets).__name__}, not weights")
        loaded, total = ckpt.load_nets(self.model, nets, strict=strict)
        logger.info("loaded %d of %d weight tensors from %s", loaded, total, path)

    def open_run_dir(self) -> Path:
        """Create the run folder with its ``config.yaml`` and ``train.log`` (rank 0, once)."""
        if self.rank != 0 or self._run_dir_made:
            return self.run_dir
        self._made_output_dir = not Path(self.cfg["output_dir"]).exists()
        self.run_dir = create_run_dir(self.run_dir)
        self._run_dir_made = True
        try:
            save_config(self.cfg, self.run_dir / "config.yaml")
            self._log_handler = add_file_handler(self.run_dir / "train.log")
        except OSError as err:
            raise OutputError(describe_os_error(err, self.run_dir)) from None
        self._vdl = _open_visualdl(self.run_dir / "visualdl") if self.cfg["enable_visualdl"] else None
        logger.info("run folder %s (seed %d, %d process(es))", self.run_dir, self.seed, self.world_size)
        return self.run_dir

    def train(self, resume: Optional[str | Path | Mapping[str, Any]] = None,
              resume_source: Optional[str] = None) -> str:
        """Train to the configured length; return ``"finished"`` or ``"interrupted"``.

        ``resume``: a trainer checkpoint (path, or its loaded state) to continue from;
        ``resume_source`` names a loaded state in messages.

        Raises:
            CheckpointError: ``resume`` is not a trainer checkpoint of this model.
            TrainingDivergedError: a loss or the weights became non-finite or exploded; no
                checkpoint of that state is written, earlier ones are kept.
            OutputError: a checkpoint or log could not be written (disk full, ...).
        """
        if self._train_data is None:
            raise RuntimeError("this Trainer was built with train_data=False")
        if resume is not None:
            self._resume(resume, resume_source)
            self._check_left_to_train(resume_source or ("the checkpoint" if isinstance(resume, Mapping)
                                                         else str(resume)))
        start = self.iter
        self.open_run_dir()
        try:
            return self._train_loop()
        except BaseException:
            if self.iter == start and self._saved_iter < 0:  # failed before its first iteration
                self._discard_run_dir()
            raise

    def _resume(self, resume: str | Path | Mapping[str, Any], source: Optional[str]) -> None:
        """Restore the training state of a checkpoint (path or loaded state)."""
        if isinstance(resume, Mapping):
            state, source = resume, source or "the checkpoint"
        else:
            state, source = ckpt.load_checkpoint(resume), str(resume)
            ckpt.clean_stale_checkpoint_temps(Path(resume).parent)
        ckpt.check_trainer_checkpoint(state, source)
        self.iter = ckpt.restore_training_state(self.model, state)
        logger.info("resumed from %s at iteration %d", source, self.iter)
        if state.get("mid_iteration"):
            logger.warning("%s was saved after a forced stop in the middle of iteration %d: training "
                           "continues, but will not reproduce an uninterrupted run exactly",
                           source, self.iter + 1)
        _warn_config_changes(state.get("config") or {}, self.model.checkpoint_config(self.cfg))
        _warn_thread_change(state.get("cpu_threads"), self.cpu_threads, source)
        if self.rank > 0:  # the checkpoint holds rank 0's generators: give each rank its own
            ckpt.seed_everything(self.seed + self.rank + 7919 * self.iter)

    def _check_left_to_train(self, source: str) -> None:
        """Raise ``ConfigError`` when a resumed run is already at its configured length (before
        a run folder is made: resuming a finished run must not start a new one)."""
        total, by_epoch = self._run_length(len(self._train_data[1]))
        if self.iter < total:
            return
        key, length = ("epochs", self.cfg["epochs"]) if by_epoch else ("total_iters", total)
        more = int(length) * 2 if int(length) > 0 else 1
        raise ConfigError(f"{source} is at iteration {self.iter}, the end of this run ({key} "
                          f"{length}): nothing left to train; to train further, resume with a "
                          f"longer run, e.g. -o {key}={more}")

    def _train_loop(self) -> str:
        """The loop; the first SIGINT/SIGTERM finishes the iteration and saves, a second one
        mid-iteration saves a checkpoint marked ``mid_iteration``, one during that save stops."""
        loader, sampler = self._train_data
        ipe = len(sampler)
        total, by_epoch = self._run_length(ipe)
        self._final_save = False
        self.model.train()
        data = endless(loader, sampler, self.iter)
        self._first_iter = self.iter + 1  # logged whatever the interval: losses and speed early
        timer = _Throughput()
        bar = tqdm(total=total, initial=self.iter, disable=self.rank != 0, dynamic_ncols=True,
                   desc="train", leave=False)
        try:
            with GracefulStop(enabled=self.world_size == 1) as stop, worker_errors() as failed:
                while self.iter < total:
                    epoch, batch = _next_batch(data, failed)
                    self._step(batch)
                    timer.add(_batch_len(batch) * self.world_size)
                    bar.update(1)
                    self._after_step(epoch, total, ipe if by_epoch else 1, timer)
                    if stop.requested:
                        self.stop_signal, self._final_save = stop.signal_name, True
                        return self._stop_early(stop.signal_name, mid_iteration=False)
        except (KeyboardInterrupt, Terminated) as err:
            if self._final_save:  # a second signal while saving: stop at once (temp file removed)
                raise
            self.stop_signal = "SIGTERM" if isinstance(err, Terminated) else "SIGINT"
            return self._stop_early(f"a forced {self.stop_signal}", mid_iteration=self._in_step)
        finally:
            bar.close()
            data.close()  # shut loader workers down now, not at interpreter exit
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
        with paddle.no_grad(), worker_errors() as failed:
            batches = iter(self._test_loader)
            try:
                for i in itertools.count():
                    try:
                        batch = _next_batch(batches, failed)
                    except StopIteration:
                        break
                    self.model.setup_input(batch)
                    self.model.test_iter(metrics)
                    if i == 0 and val_cfg.get("save_img"):
                        self._write_visuals(self.model.get_current_visuals(), "visual_test")
            finally:
                del batches  # an error's traceback must not keep loader workers alive
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

    def save_checkpoint(self, mid_iteration: bool = False) -> Optional[Path]:
        """Write a checkpoint of the current iteration (rank 0; once per iteration).

        ``mid_iteration`` marks a state taken inside an unfinished iteration. The weights are
        checked first: a diverged state raises ``TrainingDivergedError`` and is not written.
        """
        if self.rank != 0 or self._saved_iter == self.iter:
            return None
        self.check_parameters()
        self.open_run_dir()
        path = ckpt.save_checkpoint(ckpt.training_state(self.model, self.iter, self.cfg, mid_iteration,
                                                        self.cpu_threads),
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

    def check_parameters(self) -> None:
        """Raise ``TrainingDivergedError`` when a weight is NaN/Inf or beyond ``max_param_abs``."""
        problem = self._parameter_problem()
        if problem:
            raise TrainingDivergedError(self._diverged(problem))

    def check_losses(self) -> None:
        """Raise ``TrainingDivergedError`` when a loss of the last iteration is NaN or Inf."""
        problem = self._loss_problem()
        if problem:
            raise TrainingDivergedError(self._diverged(problem))

    def _parameter_problem(self) -> Optional[str]:
        name, value = ckpt.largest_parameter(self.model)
        limit = self.cfg["max_param_abs"]
        if not math.isfinite(value):
            return f"weight {name} reached |{value:.3g}|"
        if limit is not None and value > limit:
            return f"weight {name} reached |{value:.3g}| (max_param_abs {limit:g})"
        return None

    def _loss_problem(self) -> Optional[str]:
        for key, value in self.model.losses.items():
            value = _scalar(value)
            if isinstance(value, float) and not math.isfinite(value):
                return f"loss {key} is {value}"
        return None

    def _diverged(self, what: str) -> str:
        kept = ckpt.list_checkpoints(self.run_dir) if self._run_dir_made else []
        last = f"last good checkpoint {kept[-1]}" if kept else "no checkpoint was written"
        return (f"training diverged at iteration {self.iter}: {what}; {last}. Lower the learning "
                f"rate (-o lr_scheduler.learning_rate=...) or resume from an earlier checkpoint")

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
        """One iteration; then the divergence check (``nan_policy``: stop, or undo and skip)."""
        self._in_step = True
        self.model.current_iter = self.iter
        self.model.setup_input(batch)
        before = ckpt.snapshot(self.model) if self._skip_bad else None
        with paddle.amp.auto_cast(enable=self.amp):
            self.model.train_iter(self.model.optimizers)
        for scheduler in self.model.lr_schedulers.values():
            scheduler.step()
        self.iter += 1
        self._in_step = False
        if before is None:
            self.check_losses()
            return
        problem = self._loss_problem() or self._parameter_problem()
        if problem is None:
            self._skipped_in_a_row = 0
            return
        ckpt.restore_snapshot(self.model, before)  # as if the batch had given no update
        self._skipped_in_a_row += 1
        logger.warning("iteration %d: %s; its update was undone (nan_policy: skip)", self.iter, problem)
        if self._skipped_in_a_row >= MAX_SKIPS_IN_A_ROW:
            raise TrainingDivergedError(self._diverged(f"{problem}, {self._skipped_in_a_row} batches "
                                                       f"in a row skipped"))

    def _after_step(self, epoch: int, total: int, unit: int, timer: "_Throughput") -> None:
        """Periodic work after iteration ``self.iter``; ``unit`` scales epoch-based intervals."""
        log_cfg, snap_cfg, val_cfg = (self.cfg["log_config"], self.cfg["snapshot_config"],
                                      self.cfg["validate"])
        if _due(self.iter, log_cfg.get("interval")) or self.iter in (total, self._first_iter):
            self._log(epoch, total, timer)
            self.check_parameters()
        if log_cfg.get("visiual_interval") and (_due(self.iter, log_cfg["visiual_interval"])
                                                 or self.iter == total):
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
        self.open_run_dir()
        for key, images in visuals.items():
            path = self.run_dir / folder / f"iter_{self.iter:07d}_{key}.png"
            try:
                save_image_grid(images, path)
            except OSError as err:
                raise OutputError(describe_os_error(err, path)) from None
            if self._vdl is not None:
                self._vdl.add_image(tag=f"{folder}/{key}", img=make_grid(images), step=self.iter)

    def _vdl_scalars(self, scalars: Mapping[str, float]) -> None:
        if self._vdl is not None:
            for tag, value in scalars.items():
                self._vdl.add_scalar(tag=tag, value=value, step=self.iter)

    def _stop_early(self, why: str, mid_iteration: bool) -> str:
        logger.warning("stopping at iteration %d on %s; saving a checkpoint%s", self.iter, why,
                       " (marked: taken in the middle of an iteration)" if mid_iteration else "")
        self.save_checkpoint(mid_iteration=mid_iteration)
        return "interrupted"

    def _discard_run_dir(self) -> None:
        """Remove the run folder of a run that failed before it trained or saved anything."""
        if not self._run_dir_made:
            return
        self.close()
        remove_quietly(self.run_dir)
        self._run_dir_made = False
        if self._made_output_dir:
            try:
                Path(self.cfg["output_dir"]).rmdir()  # only when empty
            except OSError:
                pass
        logger.debug("removed the run folder %s: the run failed before its first iteration", self.run_dir)

    def _build_test_loader(self) -> Optional[Any]:
        """The validation loader, built once (None when the config has no ``dataset.test``)."""
        test_cfg = self.cfg["dataset"].get("test")
        return None if test_cfg is None else build_loader(test_cfg, False, self.seed)[0]

    def _run_length(self, iters_per_epoch: int) -> tuple[int, bool]:
        """(total iterations, whether the run is counted in epochs)."""
        if self.cfg["total_iters"] is not None:
            return int(self.cfg["total_iters"]), False
        total = int(self.cfg["epochs"]) * iters_per_epoch
        if total > MAX_ITERS:
            raise ConfigError(f"epochs={self.cfg['epochs']} at {iters_per_epoch} iterations per epoch "
                              f"is {total} iterations, more than the {MAX_ITERS} a run may have; "
                              f"give fewer epochs")
        return total, True


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


def _next_batch(data: Any, failed: list) -> Any:
    """``next(data)`` (``StopIteration`` passes); a failed loader worker raises the dataset's
    own error (one line)."""
    try:
        return next(data)
    except SystemError:
        cause = worker_error(failed)
        failed.clear()  # drop the loader thread's traceback (it holds the loader)
        if cause is None:
            raise
    # raised outside the handler and without ``data``: neither Paddle's error (whose frames hold
    # the loader) nor this frame may keep the loader alive; its workers would then be shut down
    # only at interpreter exit, where that hangs
    del data
    raise cause


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


def _warn_thread_change(saved: Optional[int], current: Optional[int], source: str) -> None:
    """Warn when a run resumes with another CPU thread count than its checkpoint was trained with."""
    if saved is not None and current is not None and int(saved) != int(current):
        logger.warning("%s was trained with %d CPU thread(s), this run uses %d: sums round differently, "
                       "so the result will not equal an uninterrupted run (resume with --threads %d "
                       "for that)", source, int(saved), int(current), int(saved))


def _open_visualdl(logdir: Path) -> Any:
    """A VisualDL ``LogWriter`` when the package is installed, else None."""
    try:
        from visualdl import LogWriter  # optional dependency
    except ImportError:
        logger.debug("visualdl is not installed; no VisualDL logs")
        return None
    return LogWriter(logdir=str(logdir))
