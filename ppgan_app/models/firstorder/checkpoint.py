"""Load PaddleGAN FOMM checkpoints (and this kit's training checkpoints) into the networks.

PaddleGAN's published files (``vox-cpk.pdparams`` ...) are ``{"generator": state_dict,
"kp_detector": state_dict}``; PaddleGAN training checkpoints carry the same two keys among
others; this kit's training checkpoints keep them under ``"nets"``.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np
import paddle

from ppgan_app.errors import CheckpointError

logger = logging.getLogger(__name__)

NET_NAMES = ("kp_detector", "generator")


class CheckpointMismatchError(CheckpointError):
    """A checkpoint does not fit the networks: one line with the count and the first offending
    key; ``details`` lists them all (``"<net>: <missing|unexpected|mis-shaped> <key>"``)."""

    def __init__(self, message: str, details: Optional[List[str]] = None) -> None:
        super().__init__(message)
        self.details = list(details or [])


def _shape(value: Any) -> Tuple[int, ...]:
    return tuple(int(d) for d in (value.shape if hasattr(value, "shape") else np.shape(value)))


def state_dict_mismatch(layer: paddle.nn.Layer, state: Mapping[str, Any]
                        ) -> Tuple[List[str], List[str], List[str]]:
    """Compare ``state`` with ``layer.state_dict()``.

    Returns:
        ``(missing, unexpected, mis_shaped)``; mis-shaped entries read
        ``"key: checkpoint [..] vs network [..]"``.
    """
    expected = layer.state_dict()
    missing = sorted(k for k in expected if k not in state)
    unexpected = sorted(k for k in state if k not in expected)
    mis_shaped = sorted(
        f"{k}: checkpoint {list(_shape(state[k]))} vs network {list(_shape(expected[k]))}"
        for k in expected if k in state and _shape(state[k]) != _shape(expected[k]))
    return missing, unexpected, mis_shaped


def fomm_state_dicts(checkpoint: Union[str, Path, Mapping[str, Any]]) -> Dict[str, Mapping[str, Any]]:
    """``{"kp_detector": sd, "generator": sd}`` from a path or a loaded checkpoint dict."""
    if isinstance(checkpoint, (str, Path)):
        path = checkpoint
        try:
            checkpoint = paddle.load(str(path))
        except (OSError, ValueError, EOFError, RuntimeError, TypeError) as err:
            raise CheckpointError(f"cannot read {path} as a Paddle checkpoint (.pdparams): "
                                  f"{' '.join(str(err).split())[:200]}") from None
    if not isinstance(checkpoint, Mapping):
        raise CheckpointMismatchError(f"a FOMM checkpoint is a dict, got {type(checkpoint).__name__}")
    source = checkpoint.get("nets", checkpoint)
    absent = [name for name in NET_NAMES if name not in source]
    if absent:
        raise CheckpointMismatchError(
            f"checkpoint has no {absent} state dicts; top-level keys: {sorted(checkpoint)}"
            + (f", nets: {sorted(source)}" if source is not checkpoint else ""))
    return {name: source[name] for name in NET_NAMES}


def load_fomm_checkpoint(checkpoint: Union[str, Path, Mapping[str, Any]],
                         kp_detector: paddle.nn.Layer, generator: paddle.nn.Layer) -> None:
    """Load both state dicts, strictly.

    Raises:
        CheckpointMismatchError: one error listing, per net, the missing, unexpected and
            mis-shaped keys (nothing is loaded in that case).
    """
    states = fomm_state_dicts(checkpoint)
    nets = {"kp_detector": kp_detector, "generator": generator}
    problems = []
    for name, net in nets.items():
        missing, unexpected, mis_shaped = state_dict_mismatch(net, states[name])
        for label, keys in (("missing", missing), ("unexpected", unexpected),
                            ("mis-shaped", mis_shaped)):
            problems += [f"{name}: {label} {key}" for key in keys]
    if problems:
        logger.debug("checkpoint mismatches:\n  %s", "\n  ".join(problems))
        raise CheckpointMismatchError(
            f"the checkpoint does not fit the FOMM networks built from this config: "
            f"{len(problems)} mismatched key(s), first {problems[0]} (wrong --config, or "
            "--mobile_net / --image_size not matching the weights? --verbose lists them all)",
            details=problems)
    for name, net in nets.items():
        net.set_state_dict(states[name])
    logger.info("loaded FOMM weights (%d kp_detector and %d generator tensors)",
                len(states["kp_detector"]), len(states["generator"]))


def checkpoint_config(checkpoint: Union[str, Path, Mapping[str, Any]], required: bool = False
                      ) -> Optional[Dict[str, Any]]:
    """The config a kit training checkpoint carries (``{"model": ..., "dataset": ...}``); for a
    distillation stage, ``model.generator`` is the architecture the stage's nets have.

    PaddleGAN's published files carry none: then None, or with ``required`` a
    :class:`CheckpointError` saying to pass the config.
    """
    if isinstance(checkpoint, (str, Path)):
        checkpoint = paddle.load(str(checkpoint))
    config = checkpoint.get("config") if isinstance(checkpoint, Mapping) else None
    if isinstance(config, Mapping) and isinstance(config.get("model"), Mapping):
        config = dict(config)
        if config["model"].get("name") == "FirstOrderModelMobile":   # a distillation stage
            from ppgan_app.models.firstorder.mobile import stage_generator
            config["model"] = {**config["model"], "generator": stage_generator(config["model"])}
        return config
    if required:
        raise CheckpointError("this checkpoint carries no config (only this kit's training "
                              "checkpoints do); give the architecture with --config")
    return None


def config_frame_size(config: Mapping[str, Any]) -> Optional[int]:
    """Side of the frames a FOMM config trains on (``dataset.train.frame_shape``), or None."""
    dataset = config.get("dataset") or {}
    for phase in ("train", "test"):
        shape = (dataset.get(phase) or {}).get("frame_shape")
        if shape:
            if int(shape[0]) != int(shape[1]):
                raise CheckpointError(f"frame_shape {list(shape)} is not square; FOMM's "
                                      "predictor animates square crops")
            return int(shape[0])
    return None
