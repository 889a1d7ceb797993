"""Which SR network a weight source means, and loading it strictly.

A weight source is a preset name (PaddleGAN's published weights, see ``PRESETS``) or a file:
a kit training checkpoint (it carries its config, so it rebuilds its own generator), a
PaddleGAN model file (``{"generator": state_dict, ...}``) or a bare generator state dict; the
last two need ``arch`` (a preset name) to say which network they fit.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

import paddle

from ppgan_app.errors import CheckpointError, InputError
from ppgan_app.registries import GENERATORS
from ppgan_app.utils.download import resolve_weights
from ppgan_app.utils.registry import build_from_config
from ppgan_app.weights.reader import load_strict, read_weights

logger = logging.getLogger(__name__)

_RRDB_23 = {"name": "RRDBNet", "in_nc": 3, "out_nc": 3, "nf": 64, "nb": 23}
#: preset -> generator config (PaddleGAN's) and the weight name in the kit's URL table.
PRESETS: Dict[str, Dict[str, Any]] = {
    "realsr": {"generator": _RRDB_23, "weights": "realsr"},            # RealSRPredictor's
    "esrgan-x4": {"generator": _RRDB_23, "weights": "esrgan-x4"},
    "esrgan-psnr-x4": {"generator": _RRDB_23, "weights": "esrgan-psnr-x4"},
    "pan-x4": {"generator": {"name": "PAN", "in_nc": 3, "out_nc": 3, "nf": 40, "unf": 24, "nb": 16,
                             "scale": 4}, "weights": "pan-x4"},
}
#: nets of a kit checkpoint that can upscale, in order of preference (the EMA average first)
CHECKPOINT_NETS = ("generator_ema", "generator")


@dataclass
class SRNetwork:
    """A loaded generator (eval mode): ``net`` maps ``[N, 3, h, w]`` in [0, 1] to ``scale`` times larger."""

    net: paddle.nn.Layer
    scale: int
    source: str


def load_sr_network(weights: str | Path, arch: Optional[str] = None) -> SRNetwork:
    """The generator named by ``weights`` (a preset name or a file), loaded with keys and shapes checked.

    Raises:
        WeightsUnavailableError: a preset's weights are neither cached nor downloadable (the
            message names the URL and the cache path).
        CheckpointError: unreadable file, or weights that do not fit the network.
        InputError: unknown preset, or a state dict without ``arch``.
    """
    if arch is not None and arch not in PRESETS:
        raise InputError(f"unknown SR network {arch!r}; choose one of {', '.join(PRESETS)}")
    name = str(weights)
    if name in PRESETS and not Path(name).is_file():
        arch = arch or name
        path = resolve_weights(PRESETS[name]["weights"])
    else:
        path = Path(name).expanduser()
    state = read_weights(path, "super-resolution weights")
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{path} holds a {type(state).__name__}, not weights")
    generator_cfg, state = _generator_of(state, arch, path)
    net = build_from_config(generator_cfg, GENERATORS)
    load_strict(net, state, f"super-resolution weights {path}", "the SR network",
                hint="pass a RealSR, ESRGAN or PAN .pdparams of PaddleGAN, or a kit SR checkpoint")
    net.eval()
    scale = int(getattr(net, "scale", 4))
    logger.info("super-resolution network %s x%d from %s", generator_cfg["name"], scale, path)
    return SRNetwork(net=net, scale=scale, source=str(path))


def _generator_of(state: Mapping[str, Any], arch: Optional[str], path: Path) -> tuple:
    """``(generator config, generator state dict)`` of a loaded weight file."""
    config = state.get("config")
    if isinstance(state.get("nets"), Mapping) and isinstance(config, Mapping):
        generator_cfg = (config.get("model") or {}).get("generator")
        nets = state["nets"]
        found = [n for n in CHECKPOINT_NETS if n in nets]
        if not isinstance(generator_cfg, Mapping) or not found:
            raise CheckpointError(f"{path} is a training checkpoint without a super-resolution generator "
                                  f"(model.generator and nets {' or '.join(CHECKPOINT_NETS)})")
        return dict(generator_cfg), nets[found[0]]
    if arch is None:
        raise InputError(f"{path} is a bare weight file: say which network it fits with --model "
                         f"({', '.join(PRESETS)})")
    inner = state.get("generator")
    return dict(PRESETS[arch]["generator"]), inner if isinstance(inner, Mapping) else state
