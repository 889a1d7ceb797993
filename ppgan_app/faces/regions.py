"""Faces that stand close together: each face's own region, and keeping neighbours out of a crop.

A face's crop (PaddleGAN's margin rule, :func:`ppgan_app.faces.crop.face_crop_box`) is about
twice the face's size, so when faces stand close the crop shows a neighbour. Left as it is, the
neighbour's features pull the keypoints and its half-face is warped and pasted back. Here:

* every detected face owns a region: an ellipse around its box grown by :data:`REGION_MARGIN`;
  where two ellipses overlap, each pixel goes to the face whose ellipse it lies deeper in, so the
  regions never overlap (:func:`face_regions`);
* before the network sees a crop, the other faces' regions inside it are filled from the
  surrounding background (:func:`fill_neighbours`), so the crop's content, and hence the
  source keypoints, do not depend on a neighbour's pixels;
* the paste-back alpha of a face is multiplied by :func:`keep_out_alpha`, which is exactly 0 on
  the other faces' regions and rises smoothly to 1 outside them, so no face's animation changes
  a pixel of another face.

Boxes are ``(x1, y1, x2, y2)`` pixels; keep-out masks are ``bool`` arrays of a crop's ``(h, w)``.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from ppgan_app.faces.crop import Box

#: A face's region is its box grown by this fraction of the box's size on every side (ellipse
#: through the grown box's edge midpoints), so forehead, cheeks and chin belong to it.
REGION_MARGIN = 0.3
#: Width of the fade between a pasted face and a neighbour's region, as a fraction of the
#: crop's shorter side.
KEEP_OUT_FEATHER = 0.06
#: cv2.inpaint radius (pixels) used to fill a neighbour's region.
INPAINT_RADIUS = 5


def _ellipse_window(face: Sequence[float], image_hw: Tuple[int, int]
                    ) -> Tuple[Box, np.ndarray]:
    """The face's region ellipse: its bounding window ``(x1, y1, x2, y2)`` in the image and,
    over that window, ``[h,w] float32`` depth (< 1 inside the ellipse, 0 at its centre)."""
    x1, y1, x2, y2 = (float(v) for v in face[:4])
    half_w = max((x2 - x1) * (0.5 + REGION_MARGIN), 1.0)
    half_h = max((y2 - y1) * (0.5 + REGION_MARGIN), 1.0)
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    height, width = image_hw
    wx1, wx2 = max(0, int(cx - half_w)), min(width, int(np.ceil(cx + half_w)) + 1)
    wy1, wy2 = max(0, int(cy - half_h)), min(height, int(np.ceil(cy + half_h)) + 1)
    ys = (np.arange(wy1, wy2, dtype=np.float32) + 0.5 - cy) / half_h
    xs = (np.arange(wx1, wx2, dtype=np.float32) + 0.5 - cx) / half_w
    return (wx1, wy1, wx2, wy2), ys[:, None] ** 2 + xs[None, :] ** 2


def face_labels(faces: Sequence[Sequence[float]], image_hw: Tuple[int, int]) -> np.ndarray:
    """Whose region each pixel is: ``[H,W] int32``, the index of the face or -1.

    A pixel belongs to face ``k`` when it lies inside face ``k``'s ellipse and deeper in it
    (smaller normalised distance) than in any other face's; memory is two ``[H,W]`` arrays
    whatever the number of faces.
    """
    labels = np.full(tuple(image_hw), -1, np.int32)
    best = np.full(tuple(image_hw), np.inf, np.float32)
    for k, face in enumerate(faces):
        (x1, y1, x2, y2), depth = _ellipse_window(face, image_hw)
        window = best[y1:y2, x1:x2]
        take = (depth < 1.0) & (depth < window)
        window[take] = depth[take]
        labels[y1:y2, x1:x2][take] = k
    return labels


def face_regions(faces: Sequence[Sequence[float]], image_hw: Tuple[int, int]) -> np.ndarray:
    """Each face's own region (see :func:`face_labels`): ``[K,H,W] bool``, disjoint."""
    labels = face_labels(faces, image_hw)
    return labels[None] == np.arange(len(faces), dtype=np.int32)[:, None, None]


def keep_out_masks(faces: Sequence[Sequence[float]], image_hw: Tuple[int, int],
                   boxes: Sequence[Box]) -> List[Optional[np.ndarray]]:
    """For each crop ``boxes[k]`` (face ``faces[k]``'s), the other faces' regions inside it:
    ``[h,w] bool`` in crop coordinates, or ``None`` when no other face reaches into it."""
    labels = face_labels(faces, image_hw) if len(faces) > 1 else None
    masks: List[Optional[np.ndarray]] = []
    for k, (x1, y1, x2, y2) in enumerate(boxes):
        if labels is None:
            masks.append(None)
            continue
        crop = labels[y1:y2, x1:x2]
        hole = (crop >= 0) & (crop != k)
        masks.append(hole if hole.any() else None)
    return masks


def fill_neighbours(crop: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """``crop [h,w,3] uint8`` with the ``hole [h,w] bool`` pixels (other faces) filled from
    the surrounding background (``cv2.inpaint``, Telea).

    Only pixels outside the hole decide the fill, so the result does not depend on what the
    neighbours look like. Returns ``[h,w,3] uint8`` (a copy).
    """
    crop = np.ascontiguousarray(crop)
    if not hole.any():
        return crop.copy()
    if hole.all():  # nothing to fill from: a flat grey crop
        return np.full_like(crop, 127)
    filled = cv2.inpaint(crop, hole.astype(np.uint8), INPAINT_RADIUS, cv2.INPAINT_TELEA)
    filled[~hole] = crop[~hole]  # inpaint leaves known pixels alone; make it exact
    return filled


def keep_out_alpha(hole: np.ndarray) -> np.ndarray:
    """Paste-back factor of a crop: ``[h,w] float32`` in [0, 1], exactly 0 on the
    ``hole [h,w] bool`` pixels (other faces), rising smoothly (smoothstep) to 1 at
    ``KEEP_OUT_FEATHER · min(h, w)`` pixels away from them."""
    if not hole.any():
        return np.ones(hole.shape, np.float32)
    # distance of every pixel to the nearest keep-out pixel (0 on them)
    dist = cv2.distanceTransform((~hole).astype(np.uint8), cv2.DIST_L2, 5)
    feather = max(KEEP_OUT_FEATHER * min(hole.shape), 2.0)
    x = np.clip(dist / feather, 0.0, 1.0)
    alpha = x * x * (3.0 - 2.0 * x)
    alpha[hole] = 0.0
    return alpha.astype(np.float32)
