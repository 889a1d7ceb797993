"""What a FOMM checkpoint's config says: the architecture of its nets and their frame size.

Pure functions of a loaded checkpoint (reading files and loading weights is
:mod:`ppgan_app.weights`). This kit's training checkpoints carry their config
(``{"nets": ..., "config": ...}``); PaddleGAN's published files carry none. A model whose
nets differ from its ``model.generator`` entry (a distillation stage) writes their
architecture as ``config.nets_generator`` (``BaseModel.checkpoint_config``), so no reader
needs to know the model.
"""
from __future__ import annotations

import copy
from os import PathLike
import logging
from typing import Any, Dict, Mapping, Optional

from ppgan_app.errors import CheckpointError

logger = logging.getLogger(__name__)

NETS_GENERATOR = "nets_generator"   # config key: the FirstOrderGenerator entry of the saved nets


def stage_generator(model: Mapping[str, Any]) -> Dict[str, Any]:
    """The generator entry whose nets a distillation stage trains (and checkpoints): in mode
    ``kp_detector`` the student keypoint detector with the teacher's generator, in mode
    ``generator`` the teacher's keypoint detector with the student generator, in ``both``
    the student's own. ``model`` is the stage's ``model`` section (``generator``,
    ``generator_ori``, ``mode``)."""
    student = copy.deepcopy(dict(model["generator"]))
    mode = model.get("mode", "kp_detector")
    if mode == "kp_detector":     # the teacher's generator renders the student's keypoints
        student["generator_cfg"] = copy.deepcopy(model["generator_ori"]["generator_cfg"])
    elif mode == "generator":     # the student generator renders the teacher's keypoints
        student["kp_detector_cfg"] = copy.deepcopy(model["generator_ori"]["kp_detector_cfg"])
    return student


def checkpoint_config(checkpoint: Mapping[str, Any], required: bool = False
                      ) -> Optional[Dict[str, Any]]:
    """The config a kit training checkpoint carries (``{"model": ..., "dataset": ...}``), with
    ``model.generator`` the architecture of the nets it holds: ``config.nets_generator`` when
    the checkpoint has one; for a distillation stage saved before that field (a ``model``
    with ``generator_ori``) the stage's, computed from its config.

    PaddleGAN's published files carry none: then None, or with ``required`` a
    :class:`CheckpointError` saying to pass the config.
    """
    if isinstance(checkpoint, (str, bytes, PathLike)):
        raise TypeError("checkpoint_config takes a loaded checkpoint, not a path: read the file "
                        "with ppgan_app.weights.reader.read_weights first")
    config = checkpoint.get("config") if isinstance(checkpoint, Mapping) else None
    if isinstance(config, Mapping) and isinstance(config.get("model"), Mapping):
        config = dict(config)
        model = config["model"]
        if isinstance(config.get(NETS_GENERATOR), Mapping):
            config["model"] = {**model, "generator": copy.deepcopy(dict(config[NETS_GENERATOR]))}
        elif isinstance(model.get("generator_ori"), Mapping):   # a stage saved before the field
            config["model"] = {**model, "generator": stage_generator(model)}
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
