"""Paste animated face crops back into the full portrait with feathered masks (no seams).

PaddleGAN pastes a hard rectangle (one face) or a hard circle of radius ``ratio · crop height``
(several faces). Here every face gets the same soft mask: a disc of that radius, fully pasted,
whose edge then fades smoothly to zero, within the ellipse inscribed in the crop (which fades
to zero before its edge) and a ramp that reaches zero at the crop border, so the alpha (and
hence the pasted image) has bounded gradient everywhere and the crop's rectangle never shows,
whatever the ratio.
"""
from __future__ import annotations

from typing import List, Optional, Sequence

import cv2
import numpy as np

from ppgan_app.faces.crop import Box


def _smoothstep(x: np.ndarray) -> np.ndarray:
    """0 for x <= 0, 1 for x >= 1, C1-smooth in between (max slope 1.5)."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def feather_mask(height: int, width: int, ratio: float = 0.4, feather: float = 0.35,
                 border: float = 0.1, edge: float = 0.2) -> np.ndarray:
    """Soft paste mask for a crop of ``height x width`` pixels.

    Args:
        height, width: crop size in pixels.
        ratio: radius of the fully pasted disc as a fraction of ``height`` (PaddleGAN's
            ``--ratio``, where the disc had a hard edge; 0.4-0.5 covers the face, and since a
            PaddleGAN crop is 0.8 as wide as tall, 0.4 already reaches its sides).
        feather: width of the soft edge outside the disc, as a fraction of its radius.
        border: width of the ramp to zero at the crop border, as a fraction of ``min(h, w)``.
        edge: the mask also fades to zero at the ellipse inscribed in the crop, over this
            fraction of the ellipse's radius, so a large ``ratio`` pastes a soft ellipse and
            never the crop's rectangle.

    Returns:
        ``[height, width] float32`` alpha in [0, 1], 1 at the centre and 0 on the border rows
        and columns and outside the inscribed ellipse; it changes by at most
        ``1.5 / (feather·radius) + 1.5 / (edge·min(h, w)/2) + 1.5 / (border·min(h, w))`` per
        pixel, so a pasted face never shows a seam.
    """
    ys = (np.arange(height, dtype=np.float32) + 0.5) - height / 2.0
    xs = (np.arange(width, dtype=np.float32) + 0.5) - width / 2.0
    dist = np.sqrt(ys[:, None] ** 2 + xs[None, :] ** 2)
    radius = max(ratio * height, 1.0)
    soft = max(feather * radius, 1.0)
    disc = _smoothstep((radius + soft - dist) / soft)  # opaque up to the radius, then fades
    rho = np.sqrt((ys[:, None] / (height / 2.0)) ** 2 + (xs[None, :] / (width / 2.0)) ** 2)
    ellipse = _smoothstep((1.0 - rho) / edge)  # 0 outside the inscribed ellipse
    ramp_px = max(border * min(height, width), 2.0)
    edge_y = np.minimum(np.arange(height), height - 1 - np.arange(height))  # 0 on the border
    edge_x = np.minimum(np.arange(width), width - 1 - np.arange(width))
    ramp = _smoothstep(np.minimum(edge_y[:, None], edge_x[None, :]).astype(np.float32) / ramp_px)
    return (disc * ellipse * ramp).astype(np.float32)


class Compositor:
    """Pastes animated crops into a copy of the background with precomputed feathered masks.

    Args:
        background: ``[H,W,3] uint8`` the full source image.
        boxes: crop boxes ``(x1, y1, x2, y2)``, one per animated face.
        ratio: disc radius as a fraction of the crop height (see :func:`feather_mask`).
        whole_image: the single box is the whole image: paste it without a mask.
        keep_out: per box, ``[h,w] float32`` in [0, 1] multiplied into its mask (``None``: 1),
            0 where other faces stand (:func:`ppgan_app.faces.regions.keep_out_alpha`). Since
            no face's mask reaches another face's region, the order crops are pasted in
            leaves every face whole; where two masks overlap (the background between two
            faces) the later crop, a smaller face's, is blended over the earlier.
    """

    def __init__(self, background: np.ndarray, boxes: Sequence[Box], ratio: float = 0.4,
                 whole_image: bool = False,
                 keep_out: Optional[Sequence[Optional[np.ndarray]]] = None) -> None:
        self.background = background
        self.boxes: List[Box] = [tuple(int(v) for v in b) for b in boxes]
        self.whole_image = whole_image
        keep_out = list(keep_out) if keep_out is not None else [None] * len(self.boxes)
        if len(keep_out) != len(self.boxes):
            raise ValueError(f"{len(keep_out)} keep-out masks for {len(self.boxes)} boxes")
        self.masks = [None if whole_image else
                      _with_keep_out(feather_mask(y2 - y1, x2 - x1, ratio), extra)[:, :, None]
                      for (x1, y1, x2, y2), extra in zip(self.boxes, keep_out)]

    def __call__(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """Compose one output frame.

        Args:
            crops: one ``[S,S,3]`` animated crop per box (uint8, or float in [0, 1]).

        Returns:
            ``[H,W,3] uint8`` the background with every crop resized into its box and blended.
        """
        frame = self.background.copy()
        for crop, box, mask in zip(crops, self.boxes, self.masks):
            x1, y1, x2, y2 = box
            patch = _to_float255(crop)
            patch = cv2.resize(patch, (x2 - x1, y2 - y1), interpolation=cv2.INTER_LINEAR)
            if mask is None:
                frame[y1:y2, x1:x2] = _to_uint8(patch)
                continue
            region = frame[y1:y2, x1:x2].astype(np.float32)
            frame[y1:y2, x1:x2] = _to_uint8(region + mask * (patch - region))
        return frame


def _with_keep_out(mask: np.ndarray, keep_out: Optional[np.ndarray]) -> np.ndarray:
    if keep_out is None:
        return mask
    if keep_out.shape != mask.shape:
        raise ValueError(f"keep-out mask {keep_out.shape} does not match its crop {mask.shape}")
    return (mask * keep_out).astype(np.float32)


def _to_float255(crop: np.ndarray) -> np.ndarray:
    if crop.dtype == np.uint8:
        return crop.astype(np.float32)
    return np.asarray(crop, np.float32) * 255.0


def _to_uint8(img: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)
