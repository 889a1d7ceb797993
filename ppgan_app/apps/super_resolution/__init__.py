"""Super-resolution: PaddleGAN's SR networks and weights, tiled upscaling of pictures and videos,
and held-out evaluation against bicubic and nearest-neighbour upscaling.

The names below are imported on first use, so importing this package loads no Paddle.
"""
import importlib
from typing import Any

_EXPORTS = {"PRESETS": "networks", "SRNetwork": "networks", "load_sr_network": "networks",
            "RealSRPredictor": "predictor", "SuperResolutionPredictor": "predictor",
            "Upscaler": "upscaler", "evaluate_folder": "evaluation"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
