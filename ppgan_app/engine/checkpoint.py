"""Self-describing checkpoints: ``{nets, optimizers, lr_schedulers, iter, rng, config,
mid_iteration, cpu_threads}``.

Written with ``paddle.save`` to a temporary file named with the writer's pid and renamed into
place (:func:`ppgan_app.utils.safe_files.atomic_output`), so a crash, a full disk or a second
Ctrl-C never leaves a half-written checkpoint under the final name, and temp files of killed
runs can be told from a live run's. Non-finite weights are never written.
"""
from __future__ import annotations

import copy
import errno
import logging
import random
import re
import warnings
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

import numpy as np
import paddle

from ppgan_app.engine.dist import unwrap
from ppgan_app.errors import CheckpointError  # noqa: F401 - re-exported
from ppgan_app.errors import OutputError, TrainingDivergedError, describe_os_error
from ppgan_app.utils.safe_files import atomic_output, clean_stale_temps_matching, is_disk_full

logger = logging.getLogger(__name__)

CHECKPOINT_GLOB = "iter_*_checkpoint.pdparams"
_ITER = re.compile(r"iter_(\d+)_checkpoint\.pdparams$")
#: Keys every trainer checkpoint holds (``mid_iteration`` is optional: older checkpoints lack it).
TRAINER_KEYS = ("nets", "optimizers", "lr_schedulers", "iter", "rng")


def checkpoint_path(folder: str | Path, iteration: int) -> Path:
    return Path(folder) / f"iter_{iteration:07d}_checkpoint.pdparams"


# --- random number generators -------------------------------------------------------
def get_rng_state() -> Dict[str, Any]:
    """Python, numpy and Paddle (current device) generator states."""
    return {"python": random.getstate(), "numpy": np.random.get_state(),
            "paddle": paddle.get_rng_state()}


def set_rng_state(state: Mapping[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    paddle.set_rng_state(state["paddle"])


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and Paddle's generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    paddle.seed(seed)


# --- optimizers: Paddle keys accumulators by parameter *name*, which depends on how many
# layers the process built before; we store the names in order and rename on load. ------
def _param_names(optimizer: paddle.optimizer.Optimizer) -> List[str]:
    return [p.name for p in getattr(optimizer, "_parameter_list", None) or []]


def optimizer_state(optimizer: paddle.optimizer.Optimizer) -> Dict[str, Any]:
    return {"state": optimizer.state_dict(), "param_names": _param_names(optimizer)}


def load_optimizer_state(optimizer: paddle.optimizer.Optimizer, saved: Mapping[str, Any]) -> None:
    """Restore ``saved`` (from ``optimizer_state``), renaming accumulators to this process's names."""
    old, new = list(saved["param_names"]), _param_names(optimizer)
    if len(old) != len(new):
        raise CheckpointError(f"optimizer has {len(new)} parameters, checkpoint {len(old)}")
    rename = dict(zip(old, new))
    by_length = sorted(old, key=len, reverse=True)
    state = {}
    for key, value in saved["state"].items():
        prefix = next((name for name in by_length if key.startswith(name + "_")), None)
        state[rename[prefix] + key[len(prefix):] if prefix else key] = value
    optimizer.set_state_dict(state)


# --- whole model -----------------------------------------------------------------------
def training_state(model: Any, iteration: int, config: Mapping[str, Any],
                   mid_iteration: bool = False, cpu_threads: Optional[int] = None) -> Dict[str, Any]:
    """Everything needed to continue training ``model`` exactly.

    ``mid_iteration`` marks a state taken after a forced stop inside iteration ``iteration``
    (some of its updates applied): resuming from it cannot reproduce an uninterrupted run.
    ``cpu_threads``: the CPU math threads the run computed with (None: not known). Sums split
    over another number of threads round differently, and in a GAN with batch norm such
    differences grow (0.2 in a weight after 300 DCGAN iterations), so an exact resume needs
    the same count.
    """
    return {
        "nets": {k: unwrap(net).state_dict() for k, net in model.nets.items()},
        "optimizers": {k: optimizer_state(opt) for k, opt in model.optimizers.items()},
        "lr_schedulers": {k: s.state_dict() for k, s in model.lr_schedulers.items()},
        "iter": iteration,
        "rng": get_rng_state(),
        "config": model.checkpoint_config(config),
        "mid_iteration": mid_iteration,
        "cpu_threads": cpu_threads,
    }


def snapshot(model: Any) -> Dict[str, Any]:
    """An in-memory copy of what one training step changes: net tensors (weights and batch-norm
    statistics), optimizer accumulators and the RNG states; for :func:`restore_snapshot`.
    LR schedulers are left out: the trainer steps them whether or not an update is kept."""
    def clone(state: Mapping[str, Any]) -> Dict[str, Any]:
        return {k: v.clone() if isinstance(v, paddle.Tensor) else copy.deepcopy(v)
                for k, v in state.items() if k != "LR_Scheduler"}

    return {"nets": {k: clone(unwrap(net).state_dict()) for k, net in model.nets.items()},
            "optimizers": {k: clone(opt.state_dict()) for k, opt in model.optimizers.items()},
            "rng": get_rng_state()}


def restore_snapshot(model: Any, snap: Mapping[str, Any]) -> None:
    """Put back a :func:`snapshot` taken in this process (same parameter names)."""
    for name, net in model.nets.items():
        unwrap(net).set_state_dict(snap["nets"][name])
    for name, opt in model.optimizers.items():
        state = dict(snap["optimizers"][name])
        scheduler = opt.state_dict().get("LR_Scheduler")
        if scheduler is not None:  # Paddle wants it; keep the schedule where it is now
            state["LR_Scheduler"] = scheduler
        opt.set_state_dict(state)
    set_rng_state(snap["rng"])


def check_trainer_checkpoint(state: Any, path: str | Path) -> Mapping[str, Any]:
    """Return ``state`` if it is a trainer checkpoint, else raise ``CheckpointError``."""
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{path} is not a trainer checkpoint (it holds a {type(state).__name__}); "
                              f"--resume takes an iter_*_checkpoint.pdparams written by the trainer")
    missing = [key for key in TRAINER_KEYS if key not in state]
    if missing:
        held = ", ".join(map(str, list(state)[:6])) or "nothing"
        raise CheckpointError(f"{path} is not a trainer checkpoint (no {', '.join(missing)}; it holds "
                              f"{held}); --resume takes an iter_*_checkpoint.pdparams written by the "
                              f"trainer; use --load for a file of weights only")
    return state


def non_finite_tensors(nets_state: Mapping[str, Mapping[str, Any]]) -> List[str]:
    """``net.param`` names of the float tensors in ``{net: state_dict}`` holding NaN or Inf."""
    bad = []
    for net, params in nets_state.items():
        for key, value in params.items():
            array = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
            if array.dtype.kind == "f" and not np.isfinite(array).all():
                bad.append(f"{net}.{key}")
    return bad


def largest_parameter(model: Any) -> tuple[str, float]:
    """(``net.param`` name, value) of the trainable parameter of largest magnitude (NaN wins)."""
    worst, worst_value = "", 0.0
    for net_name, net in model.nets.items():
        for name, param in unwrap(net).named_parameters():
            value = float(paddle.abs(param).max()) if param.size else 0.0
            if not np.isfinite(value) or value > worst_value:
                worst, worst_value = f"{net_name}.{name}", value
                if not np.isfinite(value):
                    return worst, worst_value
    return worst, worst_value


def load_nets(model: Any, nets_state: Mapping[str, Any], strict: bool) -> tuple[int, int]:
    """Load net weights; return (tensors loaded, tensors the model has).

    ``strict`` fails on missing/extra nets or parameters (wrong shapes included); otherwise
    mismatches are warned about and skipped, and a checkpoint where nothing fits is an error.
    """
    loaded = total = 0
    for name, net in model.nets.items():
        own = unwrap(net).state_dict()
        total += len(own)
        if not isinstance(nets_state.get(name), Mapping):
            _complain(strict, f"checkpoint has no weights for net {name!r} (has {sorted(map(str, nets_state))})")
            continue
        fitting, wrong_shape = _fitting_tensors(own, nets_state[name])
        with warnings.catch_warnings():  # Paddle warns once per skipped tensor: we count them
            warnings.simplefilter("ignore")
            missing, unexpected = unwrap(net).set_state_dict(fitting)
        missing = sorted(set(missing) | set(wrong_shape))
        loaded += len(own) - len(set(missing))
        if missing or unexpected:
            _complain(strict, f"net {name!r}: {len(set(missing))} of {len(own)} tensors not loaded "
                              f"(missing or wrong shape, e.g. {list(missing)[:3]}), {len(unexpected)} "
                              f"unexpected (e.g. {list(unexpected)[:3]})")
    for name in set(nets_state) - set(model.nets):
        _complain(strict, f"checkpoint net {name!r} is not in the model ({list(model.nets)})")
    if loaded == 0 and total:
        raise CheckpointError(f"none of the checkpoint's weights fit this model (nets {list(model.nets)}, "
                              f"checkpoint has {sorted(map(str, nets_state))[:6]}); is it for another config?")
    return loaded, total


def _fitting_tensors(own: Mapping[str, Any], saved: Mapping[str, Any]) -> tuple[Dict[str, Any], List[str]]:
    """(the saved tensors whose shape fits the net's, names of those whose shape does not):
    a wrong-shaped tensor is left out so the net keeps its own, never a broken one."""
    fitting, wrong = {}, []
    for key, value in saved.items():
        if key in own and list(np.shape(value)) != list(own[key].shape):
            wrong.append(key)
        else:
            fitting[key] = value
    return fitting, wrong


def restore_training_state(model: Any, ckpt: Mapping[str, Any]) -> int:
    """Restore nets, optimizers, schedulers and RNG from ``ckpt``; return its iteration.

    Raises:
        CheckpointError: ``ckpt`` is not a trainer checkpoint of this model.
    """
    check_trainer_checkpoint(ckpt, "the checkpoint")
    load_nets(model, ckpt["nets"], strict=True)
    for kind, own in (("optimizers", model.optimizers), ("lr_schedulers", model.lr_schedulers)):
        absent = sorted(set(own) - set(ckpt[kind]))
        if absent:
            raise CheckpointError(f"the checkpoint has no state for {kind} {absent} "
                                  f"(it has {sorted(ckpt[kind])}): it was written for another model")
    for name, opt in model.optimizers.items():
        load_optimizer_state(opt, ckpt["optimizers"][name])
    for name, sched in model.lr_schedulers.items():
        sched.set_state_dict(ckpt["lr_schedulers"][name])
    set_rng_state(ckpt["rng"])
    return int(ckpt["iter"])


def _complain(strict: bool, message: str) -> None:
    if strict:
        raise CheckpointError(message)
    logger.warning(message)


# --- files -------------------------------------------------------------------------------
def save_checkpoint(state: Mapping[str, Any], path: str | Path) -> Path:
    """Write ``state`` atomically: a pid-named temp file in the same folder, then a rename.

    Raises:
        TrainingDivergedError: ``state["nets"]`` holds NaN or Inf (nothing is written).
        OutputError: the write failed (disk full: "no space left on device at <path>"); the
            temp file is removed and an earlier file of the same name is untouched.
    """
    path = Path(path)
    bad = non_finite_tensors(state.get("nets") or {})
    if bad:
        raise TrainingDivergedError(f"not writing {path.name}: {len(bad)} weight tensor(s) hold NaN/Inf "
                                    f"(first {bad[0]}); training diverged")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(describe_os_error(err, path.parent, "create folder")) from None
    with atomic_output(path) as tmp:
        try:
            paddle.save(dict(state), str(tmp))
        except OSError:
            raise
        except Exception as err:  # noqa: BLE001 - Paddle may wrap the OSError of a full disk
            if is_disk_full(err):
                raise OSError(errno.ENOSPC, "no space left on device") from err
            raise
    return path


def clean_stale_checkpoint_temps(folder: str | Path) -> List[Path]:
    """Remove temp checkpoint files in ``folder`` left by runs that were killed (pid gone)."""
    return clean_stale_temps_matching(folder, _ITER)


def load_checkpoint(path: str | Path) -> Dict[str, Any]:
    """Read a checkpoint (or a plain ``{net_name: state_dict}`` weight file)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        return paddle.load(str(path))
    except Exception as err:  # noqa: BLE001 - pickle, zip and Paddle errors alike: not a checkpoint
        reason = " ".join(str(err).split())[:160] or type(err).__name__
        raise CheckpointError(f"cannot read checkpoint {path} (not a Paddle checkpoint, or damaged): "
                              f"{reason}") from err


def list_checkpoints(folder: str | Path) -> List[Path]:
    """Checkpoints in ``folder``, oldest iteration first."""
    found = [p for p in Path(folder).glob(CHECKPOINT_GLOB) if _ITER.search(p.name)]
    return sorted(found, key=lambda p: int(_ITER.search(p.name).group(1)))


def prune_checkpoints(folder: str | Path, max_keep: Optional[int]) -> None:
    """Delete all but the newest ``max_keep`` checkpoints (None or <= 0 keeps all).

    Call it only after a (finite) checkpoint was written: the newest file is never deleted.
    """
    if not max_keep or max_keep <= 0:
        return
    for old in list_checkpoints(folder)[:-max_keep]:
        try:
            old.unlink()
        except OSError as err:
            logger.warning("could not remove old checkpoint %s: %s", old, err)
            continue
        logger.debug("removed old checkpoint %s", old)
