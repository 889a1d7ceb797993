"""The metric interface the engine uses: ``reset()``, ``update(preds, gts)``, ``accumulate()``."""
from __future__ import annotations

from typing import Any, Tuple

import numpy as np
import paddle

RANGES = {"[-1,1]": (-1.0, 1.0), "[0,1]": (0.0, 1.0)}


def to_unit_numpy(images: Any, value_range: str) -> np.ndarray:
    """``[N, C, H, W]`` tensor or array in ``value_range`` -> float64 numpy in [0, 1] (clipped)."""
    if value_range not in RANGES:
        raise ValueError(f"value_range must be one of {sorted(RANGES)}, got {value_range!r}")
    array = images.numpy() if isinstance(images, paddle.Tensor) else np.asarray(images)
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4:
        raise ValueError(f"expected images [N, C, H, W], got shape {array.shape}")
    low, high = RANGES[value_range]
    return np.clip((array.astype("float64") - low) / (high - low), 0.0, 1.0)


def check_pair(preds: np.ndarray, gts: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    if preds.shape != gts.shape:
        raise ValueError(f"preds {preds.shape} and gts {gts.shape} must have the same shape")
    return preds, gts


class Metric:
    """Accumulates over batches. ``update`` takes ``[N, C, H, W]`` predictions and references."""

    def reset(self) -> None:
        raise NotImplementedError

    def update(self, preds: Any, gts: Any) -> None:
        raise NotImplementedError

    def accumulate(self) -> float:
        raise NotImplementedError
