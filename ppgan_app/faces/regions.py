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

Boxes are ``(x1, y1, x2, y2)`` pixels; masks are ``bool`` arrays of the image's ``(H, W)``.
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

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


def _ellipse_depth(face: Sequence[float], image_hw: Tuple[int, int]) -> np.ndarray:
    """``[H,W] float32``: < 1 inside the face's region ellipse, 0 at its centre."""
    x1, y1, x2, y2 = (float(v) for v in face[:4])
    half_w = max((x2 - x1) * (0.5 + REGION_MARGIN), 1.0)
    half_h = max((y2 - y1) * (0.5 + REGION_MARGIN), 1.0)
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    ys = (np.arange(image_hw[0], dtype=np.float32) + 0.5 - cy) / half_h
    xs = (np.arange(image_hw[1], dtype=np.float32) + 0.5 - cx) / half_w
    return ys[:, None] ** 2 + xs[None, :] ** 2


def face_regions(faces: Sequence[Sequence[float]], image_hw: Tuple[int, int]) -> np.ndarray:
    """Each face's own region, disjoint.

    Args:
        faces: ``[K,4+]`` face boxes.
        image_hw: ``(H, W)`` of the image.

    Returns:
        ``[K,H,W] bool``: pixel ``(y, x)`` belongs to face ``k`` when it lies inside face ``k``'s
        ellipse and deeper in it (smaller normalised distance) than in any other face's.
    """
    if len(faces) == 0:
        return np.zeros((0,) + tuple(image_hw), bool)
    depth = np.stack([_ellipse_depth(face, image_hw) for face in faces])
    nearest = depth.argmin(axis=0)
    inside = depth.min(axis=0) < 1.0
    return np.stack([(nearest == k) & inside for k in range(len(faces))])


def others_mask(regions: np.ndarray, index: int) -> np.ndarray:
    """``[H,W] bool``: the regions of every face but ``index``."""
    mask = np.zeros(regions.shape[1:], bool)
    for k in range(len(regions)):
        if k != index:
            mask |= regions[k]
    return mask


def fill_neighbours(image: np.ndarray, box: Box, keep_out: np.ndarray) -> np.ndarray:
    """The crop ``box`` of ``image [H,W,3] uint8`` with the ``keep_out [H,W] bool`` pixels
    filled from the surrounding background (``cv2.inpaint``, Telea).

    Only pixels outside ``keep_out`` decide the fill, so the result does not depend on what the
    neighbours look like. Returns ``[h,w,3] uint8`` (a copy).
    """
    x1, y1, x2, y2 = box
    crop = np.ascontiguousarray(image[y1:y2, x1:x2])
    hole = keep_out[y1:y2, x1:x2]
    if not hole.any():
        return crop.copy()
    if hole.all():  # nothing to fill from: a flat grey crop
        return np.full_like(crop, 127)
    filled = cv2.inpaint(crop, hole.astype(np.uint8), INPAINT_RADIUS, cv2.INPAINT_TELEA)
    filled[~hole] = crop[~hole]  # inpaint leaves known pixels alone; make it exact
    return filled


def keep_out_alpha(keep_out: np.ndarray, box: Box) -> np.ndarray:
    """Paste-back factor of the crop ``box``: ``[h,w] float32`` in [0, 1], exactly 0 on the
    ``keep_out [H,W] bool`` pixels, rising smoothly (smoothstep) to 1 at
    ``KEEP_OUT_FEATHER · min(h, w)`` pixels away from them."""
    x1, y1, x2, y2 = box
    hole = keep_out[y1:y2, x1:x2]
    if not hole.any():
        return np.ones(hole.shape, np.float32)
    # distance of every pixel to the nearest keep-out pixel (0 on them)
    dist = cv2.distanceTransform((~hole).astype(np.uint8), cv2.DIST_L2, 5)
    feather = max(KEEP_OUT_FEATHER * min(hole.shape), 2.0)
    x = np.clip(dist / feather, 0.0, 1.0)
    alpha = x * x * (3.0 - 2.0 * x)
    alpha[hole] = 0.0
    return alpha.astype(np.float32)


def neighbour_masks(faces: Sequence[Sequence[float]], image_hw: Tuple[int, int],
                    animated: Sequence[int]) -> List[np.ndarray]:
    """For each animated face (indices into ``faces``), the ``[H,W] bool`` mask of the other
    faces' regions (all detected faces, animated or not)."""
    regions = face_regions(faces, image_hw)
    return [others_mask(regions, k) for k in animated]
