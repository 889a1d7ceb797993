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

from ppgan_app.errors import ConfigError
from ppgan_app.models.firstorder.keypoint_detector import KPDetector
from ppgan_app.models.firstorder.generator import OcclusionAwareGenerator
from ppgan_app.utils.config import parse_yaml
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

    Raises:
        ConfigError: no such file or packaged config, unreadable or malformed YAML, or a
            top level that is not a mapping.
    """
    if isinstance(config, Mapping):
        return copy.deepcopy(dict(config))
    if config is None:
        path = packaged_config(DEFAULT_CONFIG)
    else:
        path = Path(config)
        if not path.is_file():
            try:
                path = packaged_config(str(config))
            except (FileNotFoundError, KeyError, ValueError):
                raise ConfigError(f"config not found: {config} (a YAML file, or a packaged "
                                  "config name such as firstorder_vox_256)") from None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read config {path}: {err}") from None
    data = parse_yaml(text, source=str(path))
    if not isinstance(data, Mapping):
        raise ConfigError(f"config {path}: the top level must be a mapping, "
                          f"got {type(data).__name__}")
    return dict(data)


def fomm_model_config(config: ConfigLike = None) -> Dict[str, Any]:
    """The ``model`` section: ``common_params`` and ``generator.{kp_detector_cfg, generator_cfg}``.

    Accepts a whole config or just its ``model`` section.
    """
    cfg = load_fomm_config(config)
    model = cfg.get("model", cfg)
    hint = "use a firstorder_*.yaml config (e.g. the packaged firstorder_vox_256)"
    if not isinstance(model, Mapping) or not isinstance(model.get("common_params"), Mapping) \
            or not isinstance(model.get("generator"), Mapping):
        keys = sorted(model) if isinstance(model, Mapping) else type(model).__name__
        raise ConfigError(f"not a FOMM config: model.common_params/model.generator missing "
                          f"(model has {keys}); {hint}")
    for key in ("kp_detector_cfg", "generator_cfg"):
        if not isinstance(model["generator"].get(key), Mapping):
            raise ConfigError(f"not a FOMM config: model.generator.{key} missing; {hint}")
    return model


def fomm_size_multiple(config: ConfigLike = None) -> int:
    """The frame sides the networks accept are the multiples of this number.

    Each hourglass halves its input ``num_blocks`` times after the ``scale_factor``
    downsampling, and the generator's encoder halves it ``num_down_blocks`` times; all must
    divide evenly (vox-256: 128, so 256, 384 and 512 work and 300 does not).
    """
    model = fomm_model_config(config)
    kp_cfg = model["generator"]["kp_detector_cfg"]
    gen_cfg = model["generator"]["generator_cfg"]
    motion_cfg = gen_cfg.get("dense_motion_params") or {}
    needs = [2 ** int(gen_cfg.get("num_down_blocks", 0))]
    for part in (kp_cfg, motion_cfg):
        if part:
            needs.append(int(round(2 ** int(part["num_blocks"]) / float(part.get("scale_factor", 1)))))
    return int(np.lcm.reduce(needs))


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
