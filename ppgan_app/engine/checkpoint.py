"""Self-describing checkpoints: ``{nets, optimizers, lr_schedulers, iter, rng, config}``.

Written with ``paddle.save`` to a temporary file and moved into place with ``os.replace``,
so a crash never leaves a half-written checkpoint under the final name.
"""
from __future__ import annotations

import logging
import os
import random
import re
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

import numpy as np
import paddle

from ppgan_app.engine.dist import unwrap
from ppgan_app.errors import CheckpointError  # noqa: F401 - re-exported

logger = logging.getLogger(__name__)

CHECKPOINT_GLOB = "iter_*_checkpoint.pdparams"
_ITER = re.compile(r"iter_(\d+)_checkpoint\.pdparams$")



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
def training_state(model: Any, iteration: int, config: Mapping[str, Any]) -> Dict[str, Any]:
    """Everything needed to continue training ``model`` exactly."""
    return {
        "nets": {k: unwrap(net).state_dict() for k, net in model.nets.items()},
        "optimizers": {k: optimizer_state(opt) for k, opt in model.optimizers.items()},
        "lr_schedulers": {k: s.state_dict() for k, s in model.lr_schedulers.items()},
        "iter": iteration,
        "rng": get_rng_state(),
        "config": dict(config),
    }


def load_nets(model: Any, nets_state: Mapping[str, Any], strict: bool) -> None:
    """Load net weights; ``strict`` fails on missing/extra nets or parameters, else warns."""
    for name, net in model.nets.items():
        if name not in nets_state:
            _complain(strict, f"checkpoint has no weights for net {name!r} (has {sorted(nets_state)})")
            continue
        missing, unexpected = unwrap(net).set_state_dict(nets_state[name])
        if missing or unexpected:
            _complain(strict, f"net {name!r}: missing {list(missing)[:5]}, unexpected {list(unexpected)[:5]}")
    for name in set(nets_state) - set(model.nets):
        _complain(strict, f"checkpoint net {name!r} is not in the model ({list(model.nets)})")


def restore_training_state(model: Any, ckpt: Mapping[str, Any]) -> int:
    """Restore nets, optimizers, schedulers and RNG from ``ckpt``; return its iteration."""
    load_nets(model, ckpt["nets"], strict=True)
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
    """Write ``state`` atomically (temporary file in the same folder, then ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    paddle.save(dict(state), str(tmp))
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | Path) -> Dict[str, Any]:
    """Read a checkpoint (or a plain ``{net_name: state_dict}`` weight file)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        return paddle.load(str(path))
    except (OSError, ValueError, EOFError, RuntimeError) as err:
        raise CheckpointError(f"cannot read checkpoint {path}: {err}") from err


def list_checkpoints(folder: str | Path) -> List[Path]:
    """Checkpoints in ``folder``, oldest iteration first."""
    found = [p for p in Path(folder).glob(CHECKPOINT_GLOB) if _ITER.search(p.name)]
    return sorted(found, key=lambda p: int(_ITER.search(p.name).group(1)))


def prune_checkpoints(folder: str | Path, max_keep: Optional[int]) -> None:
    """Delete all but the newest ``max_keep`` checkpoints (None or <= 0 keeps all)."""
    if not max_keep or max_keep <= 0:
        return
    for old in list_checkpoints(folder)[:-max_keep]:
        old.unlink()
        logger.debug("removed old checkpoint %s", old)
