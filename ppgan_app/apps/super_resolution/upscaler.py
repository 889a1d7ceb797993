"""Tiled upscaling of whole pictures with a loaded SR network (the tensor-level wrapper).

A large frame is cut into ``tile`` x ``tile`` pieces (low-resolution pixels); each is run with
``tile_overlap`` pixels of real context on every side, and only its own centre is kept. When the
overlap covers the network's receptive field, tiled and whole-frame results are equal (up to
float rounding); with a smaller one the seams differ by a little, never by a visible step. Memory
is bounded by one tile's activations whatever the frame size.
"""
from __future__ import annotations

from typing import Callable, Iterator, Optional, Tuple

import numpy as np
import paddle
from tqdm import tqdm

DEFAULT_TILE = 256          # low-resolution pixels per tile side; 0: the whole frame at once
DEFAULT_TILE_OVERLAP = 32   # context pixels around each tile (PAN's receptive field is ~36)


class Upscaler:
    """``upscale(img)``: ``[H, W, 3]`` uint8 RGB -> ``[scale*H, scale*W, 3]`` uint8.

    Args:
        net: generator in eval mode, ``[N, 3, h, w]`` in [0, 1] -> ``scale`` times larger.
        scale: its upscaling factor.
        tile, tile_overlap: see the module docstring; both in low-resolution pixels.
    """

    def __init__(self, net: paddle.nn.Layer, scale: int, tile: int = DEFAULT_TILE,
                 tile_overlap: int = DEFAULT_TILE_OVERLAP) -> None:
        if tile < 0 or tile_overlap < 0:
            raise ValueError(f"tile and tile_overlap must be >= 0, got {tile}, {tile_overlap}")
        self.net, self.scale = net, int(scale)
        self.multiple = int(getattr(net, "unshuffle", 1))  # RRDBNet x2/x1 input sides
        self.tile = _round_up(tile, self.multiple)
        self.overlap = _round_up(tile_overlap, self.multiple)

    def upscale(self, img: np.ndarray, progress: bool = False) -> np.ndarray:
        """``[H, W, 3]`` uint8 -> ``[scale*H, scale*W, 3]`` uint8 (rounded, clipped)."""
        x = img.astype("float32").transpose(2, 0, 1)[None] / 255.0
        out = np.empty((img.shape[0] * self.scale, img.shape[1] * self.scale, 3), dtype=np.uint8)

        def write(rows: slice, cols: slice, piece: np.ndarray) -> None:
            out[rows, cols] = np.clip(np.rint(piece[0].transpose(1, 2, 0) * 255.0), 0, 255).astype(np.uint8)

        self._run(x, write, progress)
        return out

    def upscale_array(self, x: np.ndarray) -> np.ndarray:
        """``[1, 3, H, W]`` float32 in [0, 1] -> ``[1, 3, scale*H, scale*W]`` float32, unclipped."""
        out = np.empty((1, x.shape[1], x.shape[2] * self.scale, x.shape[3] * self.scale), dtype=np.float32)

        def write(rows: slice, cols: slice, piece: np.ndarray) -> None:
            out[:, :, rows, cols] = piece

        self._run(x, write, False)
        return out

    def _run(self, x: np.ndarray, write: Callable[[slice, slice, np.ndarray], None], progress: bool) -> None:
        height, width = x.shape[2:]
        padded = _pad_to_multiple(x, self.multiple)
        tiles = list(self._tiles(*padded.shape[2:]))
        s = self.scale
        for (top, bottom, left, right), (t0, b0, l0, r0) in tqdm(tiles, desc="tiles", leave=False,
                                                                disable=not progress or len(tiles) < 2):
            with paddle.no_grad():
                piece = self.net(paddle.to_tensor(padded[:, :, t0:b0, l0:r0])).numpy()
            bottom, right = min(bottom, height), min(right, width)  # drop the padding
            write(slice(s * top, s * bottom), slice(s * left, s * right),
                  piece[:, :, s * (top - t0):s * (bottom - t0), s * (left - l0):s * (right - l0)])

    def _tiles(self, height: int, width: int) -> Iterator[Tuple[Tuple[int, ...], Tuple[int, ...]]]:
        """``((top, bottom, left, right) kept, (top, bottom, left, right) run)`` per tile."""
        if not self.tile or (height <= self.tile and width <= self.tile):
            yield (0, height, 0, width), (0, height, 0, width)
            return
        ov = self.overlap
        for top in range(0, height, self.tile):
            for left in range(0, width, self.tile):
                bottom, right = min(top + self.tile, height), min(left + self.tile, width)
                yield ((top, bottom, left, right),
                       (max(top - ov, 0), min(bottom + ov, height), max(left - ov, 0), min(right + ov, width)))


def _round_up(value: int, multiple: int) -> int:
    return -(-int(value) // multiple) * multiple


def _pad_to_multiple(x: np.ndarray, multiple: int) -> np.ndarray:
    """Reflect-pad ``[N, C, H, W]`` at the bottom and right so H and W are multiples of ``multiple``."""
    pad_h, pad_w = (-x.shape[2]) % multiple, (-x.shape[3]) % multiple
    if not pad_h and not pad_w:
        return x
    return np.pad(x, ((0, 0), (0, 0), (0, pad_h), (0, pad_w)), mode="reflect")


def frame_upscaler(network, tile: Optional[int] = None, tile_overlap: Optional[int] = None) -> Upscaler:
    """An ``Upscaler`` for a loaded ``SRNetwork`` with the default tiling where not given."""
    return Upscaler(network.net, network.scale, DEFAULT_TILE if tile is None else tile,
                    DEFAULT_TILE_OVERLAP if tile_overlap is None else tile_overlap)
