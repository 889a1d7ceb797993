"""What every face detector returns, and the small box helpers they share.

A detector is a callable ``detect(image) -> faces``: ``image [H,W,3] uint8`` RGB, ``faces
[K,5] float32`` rows ``(x1, y1, x2, y2, score)`` in image pixels, largest face first, ``K = 0``
when nothing is found. Boxes are in the detector's own framing; :mod:`ppgan_app.faces.convention`
maps them to the reference framing.
"""
from __future__ import annotations

from typing import Callable, Tuple

import cv2
import numpy as np

FaceDetector = Callable[[np.ndarray], np.ndarray]

#: Images are detected at a working size: larger images are shrunk to this longest side first.
MAX_DETECT_SIDE = 1024


def no_faces() -> np.ndarray:
    """The empty result, ``[0,5] float32``."""
    return np.zeros((0, 5), np.float32)


def sort_largest_first(faces: np.ndarray) -> np.ndarray:
    """Sort ``faces [K,5]`` by box area, largest first (the result is returned, not discarded)."""
    if len(faces) == 0:
        return no_faces()
    areas = (faces[:, 2] - faces[:, 0]) * (faces[:, 3] - faces[:, 1])
    return faces[np.argsort(-areas, kind="stable")].astype(np.float32)


def clip_faces(faces: np.ndarray, image_hw: Tuple[int, int]) -> np.ndarray:
    """Clip boxes ``[K,5]`` to an image of ``(H, W)``; boxes left empty are dropped."""
    height, width = image_hw
    faces = np.array(faces, np.float32).reshape(-1, 5)
    faces[:, [0, 2]] = np.clip(faces[:, [0, 2]], 0, width)
    faces[:, [1, 3]] = np.clip(faces[:, [1, 3]], 0, height)
    keep = (faces[:, 2] > faces[:, 0]) & (faces[:, 3] > faces[:, 1])
    return faces[keep]


def clip_and_sort(faces: np.ndarray, points: np.ndarray, image_hw: Tuple[int, int]
                  ) -> Tuple[np.ndarray, np.ndarray]:
    """:func:`clip_faces` then :func:`sort_largest_first`, with each face's landmarks
    ``points [K,P,2]`` kept beside it (dropped and reordered alike)."""
    height, width = image_hw
    faces = np.array(faces, np.float32).reshape(-1, 5)
    points = np.asarray(points, np.float32).reshape(len(faces), -1, 2)
    faces[:, [0, 2]] = np.clip(faces[:, [0, 2]], 0, width)
    faces[:, [1, 3]] = np.clip(faces[:, [1, 3]], 0, height)
    keep = np.flatnonzero((faces[:, 2] > faces[:, 0]) & (faces[:, 3] > faces[:, 1]))
    areas = (faces[keep, 2] - faces[keep, 0]) * (faces[keep, 3] - faces[keep, 1])
    order = keep[np.argsort(-areas, kind="stable")]
    return faces[order], points[order]


def working_copy(image: np.ndarray, max_side: int = MAX_DETECT_SIDE) -> Tuple[np.ndarray, float]:
    """Shrink ``image`` so its longest side is at most ``max_side``; return it and the scale
    (detected boxes are divided by the scale to get back to the original pixels)."""
    height, width = image.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    if scale < 1.0:
        image = cv2.resize(image, (int(round(width * scale)), int(round(height * scale))),
                           interpolation=cv2.INTER_AREA)
    return image, scale


def box_iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a [A,4+]`` with every box in ``b [B,4+]``, ``[A,B]`` in [0, 1]."""
    a = np.asarray(a, np.float64)[:, None, :4]
    b = np.asarray(b, np.float64)[None, :, :4]
    wh = np.clip(np.minimum(a[..., 2:], b[..., 2:]) - np.maximum(a[..., :2], b[..., :2]), 0, None)
    inter = wh[..., 0] * wh[..., 1]
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = area_a + area_b - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)
