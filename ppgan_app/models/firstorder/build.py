"""Build the FOMM keypoint detector and generator from a PaddleGAN-layout config.

The default architecture is the packaged ``configs/firstorder_vox_256.yaml``; there is no
second copy of its values in code.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Dict, Mapping, Tuple, Union

import numpy as np
import paddle
import yaml

from ppgan_app.modules.keypoint_detector import KPDetector
from ppgan_app.models.generators.occlusion_aware import OcclusionAwareGenerator
from ppgan_app.utils.resources import packaged_config

DEFAULT_CONFIG = "firstorder_vox_256.yaml"
ConfigLike = Union[None, str, Path, Mapping[str, Any]]


def load_fomm_config(config: ConfigLike = None) -> Dict[str, Any]:
    """Read a FOMM config.

    Args:
        config: None (the packaged vox-256 config), the name of a packaged config
            (``"firstorder_vox_mobile_256"``), a path to a YAML file, or a mapping (copied).
    Returns:
        the whole config as a dict (with a ``model`` section).
    """
    if isinstance(config, Mapping):
        return copy.deepcopy(dict(config))
    if config is None:
        path = packaged_config(DEFAULT_CONFIG)
    else:
        path = Path(config)
        if not path.is_file():
            path = packaged_config(str(config))
    with open(path, "r", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def fomm_model_config(config: ConfigLike = None) -> Dict[str, Any]:
    """The ``model`` section: ``common_params`` and ``generator.{kp_detector_cfg, generator_cfg}``.

    Accepts a whole config or just its ``model`` section.
    """
    cfg = load_fomm_config(config)
    model = cfg.get("model", cfg)
    for key in ("common_params", "generator"):
        if key not in model:
            raise KeyError(f"FOMM config has no model.{key}; got keys {sorted(model)}")
    for key in ("kp_detector_cfg", "generator_cfg"):
        if key not in model["generator"]:
            raise KeyError(f"FOMM config has no model.generator.{key}; "
                           f"got keys {sorted(model['generator'])}")
    return model


def build_fomm_networks(config: ConfigLike = None, inference: bool = True,
                        eval_mode: bool = True) -> Tuple[KPDetector, OcclusionAwareGenerator]:
    """Build ``(kp_detector, generator)`` as PaddleGAN's predictor does.

    Args:
        config: see :func:`load_fomm_config`.
        inference: the generator's border handling for animation (PaddleGAN's predictor
            uses True; training and reconstruction use False).
        eval_mode: put both nets in eval mode (BatchNorm uses running statistics).
    """
    model = fomm_model_config(config)
    common = dict(model["common_params"])
    kp_detector = KPDetector(**model["generator"]["kp_detector_cfg"], **common)
    generator = OcclusionAwareGenerator(**model["generator"]["generator_cfg"], **common,
                                        inference=inference)
    if eval_mode:
        kp_detector.eval()
        generator.eval()
    return kp_detector, generator


def randomize_fomm_weights(layer: paddle.nn.Layer, rng: np.random.Generator,
                           bias_std: float = 0.1) -> None:
    """Give ``layer`` random weights of realistic scale, BatchNorm statistics included.

    For tests and benchmarks without the official weights: conv kernels ~ N(0, 1/fan_in),
    norm scales in [0.8, 1.2], running variances in [0.5, 1.5], biases and means
    ~ N(0, ``bias_std``). The fixed anti-alias kernels (``*down.weight``) are kept.
    """
    for key, value in layer.state_dict().items():
        shape = list(value.shape)
        if key.endswith("down.weight"):
            continue
        if key.endswith("_variance"):
            new = rng.uniform(0.5, 1.5, shape)
        elif len(shape) == 4:
            new = rng.normal(0.0, 1.0 / np.sqrt(np.prod(shape[1:])), shape)
        elif key.endswith("weight") and not key.endswith("_mean"):
            new = rng.uniform(0.8, 1.2, shape)
        else:
            new = rng.normal(0.0, bias_std, shape)
        value.set_value(new.astype("float32"))
