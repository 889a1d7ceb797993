"""Image grids: ``[N, C, H, W]`` tensors in [-1, 1] to a uint8 PNG."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional

import cv2
import numpy as np


def to_numpy(images: Any) -> np.ndarray:
    """A Paddle tensor or array ``[N, C, H, W]`` (or ``[C, H, W]``) as float32 numpy."""
    array = images.numpy() if hasattr(images, "numpy") else np.asarray(images)
    array = array.astype(np.float32)
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4:
        raise ValueError(f"expected images [N, C, H, W], got shape {array.shape}")
    return array


#: Most images one grid picture holds (32 x 32 tiles); the sampling tools refuse more.
MAX_GRID_IMAGES = 1024


def make_grid(images: Any, nrow: Optional[int] = None, padding: int = 2) -> np.ndarray:
    """Tile ``images`` ([N, C, H, W] in [-1, 1], C in {1, 3}) into one ``[H', W', C]`` uint8 image.

    ``nrow`` is the number of images per row (default: about square).
    """
    array = to_numpy(images)
    n, c, h, w = array.shape
    if c not in (1, 3):
        raise ValueError(f"expected 1 or 3 channels, got {c}")
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / nrow)
    pixels = np.clip((array + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)
    grid = np.zeros((rows * (h + padding) + padding, nrow * (w + padding) + padding, c), np.uint8)
    for i in range(n):
        top, left = padding + (i // nrow) * (h + padding), padding + (i % nrow) * (w + padding)
        grid[top:top + h, left:left + w] = pixels[i]
    return grid


def save_image_grid(images: Any, path: str | Path, nrow: Optional[int] = None) -> Path:
    """Write ``images`` ([N, C, H, W] in [-1, 1], RGB or grey) as a PNG grid; return the path."""
    grid = make_grid(images, nrow)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if grid.shape[2] == 3:
        grid = cv2.cvtColor(grid, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(path), grid):
        raise OSError(f"could not write image {path}")
    return path
