"""Crop boxes around faces (PaddleGAN's margin rule) and square crops for driving videos.

Boxes are ``(x1, y1, x2, y2)`` in pixels, ``x2``/``y2`` exclusive, in an image of shape ``(H, W)``.
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

import cv2
import numpy as np

Box = Tuple[int, int, int, int]


def face_crop_box(face: Sequence[float], image_hw: Tuple[int, int]) -> Box:
    """Grow a detected face box into the region the animation network sees.

    PaddleGAN's rule: ``margin = max(face_h, face_w)``; the crop spans ``±margin`` vertically and
    ``±0.8·margin`` horizontally around the face centre, clipped to the image.

    Args:
        face: ``(x1, y1, x2, y2[, ...])`` detected face box.
        image_hw: ``(H, W)`` of the image.
    """
    height, width = image_hw
    x1, y1, x2, y2 = (int(round(v)) for v in face[:4])
    bh, bw = y2 - y1, x2 - x1
    cy, cx = y1 + bh // 2, x1 + bw // 2
    margin = max(bh, bw)
    return (max(0, cx - int(0.8 * margin)), max(0, cy - margin),
            min(width, cx + int(0.8 * margin)), min(height, cy + margin))


def box_area(box: Sequence[float]) -> float:
    """Area of ``(x1, y1, x2, y2)`` (0 for empty boxes)."""
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two boxes, in [0, 1]."""
    inter = box_area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))
    union = box_area(a) + box_area(b) - inter
    return inter / union if union > 0 else 0.0


def drop_duplicates(boxes: Sequence[Box], threshold: float = 0.5) -> List[Box]:
    """Keep boxes in order, dropping any whose IoU with an already kept box exceeds ``threshold``.

    Pass boxes largest first so that, of two overlapping boxes, the larger one survives.
    """
    kept: List[Box] = []
    for box in boxes:
        if all(iou(box, other) <= threshold for other in kept):
            kept.append(box)
    return kept


def faces_and_crops(faces: np.ndarray, image_hw: Tuple[int, int]
                    ) -> List[Tuple[Tuple[float, float, float, float], Box]]:
    """Distinct detected faces with their crop boxes, largest face first.

    A face whose box overlaps an already kept face's box by IoU > 0.5 is the same face detected
    twice and is dropped. Duplicates are judged on the faces, not on their crops: two people
    standing close have crops that overlap a lot, and both are kept (their crops are then
    masked, see :mod:`ppgan_app.faces.regions`).

    Args:
        faces: ``[K,4+]`` face boxes ``(x1, y1, x2, y2, ...)`` in any order.
        image_hw: ``(H, W)`` of the image.

    Returns:
        ``[(face (x1, y1, x2, y2), crop box), ...]``.
    """
    order = sorted(range(len(faces)), key=lambda i: box_area(faces[i]), reverse=True)
    distinct = drop_duplicates([tuple(float(v) for v in faces[i][:4]) for i in order])
    pairs = [(face, face_crop_box(face, image_hw)) for face in distinct]
    return [(face, crop) for face, crop in pairs if box_area(crop) > 0]


def face_crop_boxes(faces: np.ndarray, image_hw: Tuple[int, int]) -> List[Box]:
    """Crop boxes for detected faces, largest face first, duplicate faces (IoU > 0.5) dropped
    (see :func:`faces_and_crops`).

    Args:
        faces: ``[K,4+]`` face boxes ``(x1, y1, x2, y2, ...)`` in any order.
        image_hw: ``(H, W)`` of the image.
    """
    return [crop for _, crop in faces_and_crops(faces, image_hw)]


def square_box(center_xy: Tuple[float, float], side: float, image_hw: Tuple[int, int]) -> Box:
    """A square of ``side`` pixels around ``center_xy``, shifted (not squashed) to fit the image.

    If the image is smaller than ``side`` in some direction the square shrinks to the image's
    shorter side.
    """
    height, width = image_hw
    side = int(round(min(side, height, width)))
    x1 = int(round(center_xy[0] - side / 2))
    y1 = int(round(center_xy[1] - side / 2))
    x1 = min(max(0, x1), width - side)
    y1 = min(max(0, y1), height - side)
    return (x1, y1, x1 + side, y1 + side)


def driving_crop_box(faces: Sequence[Sequence[float]], image_hw: Tuple[int, int],
                     scale: float = 2.0) -> Box:
    """One stable square crop for a driving video from faces found in some of its frames.

    The square is centred on the median face centre and its side is ``scale`` times the median
    face size plus the spread of the centres, so the head stays inside it while it moves.

    Args:
        faces: ``[K,4+]`` the largest face box of each sampled frame (``K >= 1``).
        image_hw: ``(H, W)`` of the video frames.
        scale: side of the square in face sizes (2.0 is the vertical extent of PaddleGAN's crop).
    """
    arr = np.asarray(faces, dtype=np.float64)[:, :4]
    centers = np.stack([(arr[:, 0] + arr[:, 2]) / 2, (arr[:, 1] + arr[:, 3]) / 2], axis=1)
    size = np.median(np.maximum(arr[:, 2] - arr[:, 0], arr[:, 3] - arr[:, 1]))
    center = np.median(centers, axis=0)
    spread = float(np.max(np.abs(centers - center))) if len(centers) > 1 else 0.0
    return square_box((float(center[0]), float(center[1])), scale * size + 2 * spread, image_hw)


def crop_resize(image: np.ndarray, box: Box, size: int) -> np.ndarray:
    """Cut ``box`` out of ``image [H,W,3] uint8`` and resize it to ``[size,size,3] uint8``."""
    x1, y1, x2, y2 = box
    patch = image[y1:y2, x1:x2]
    interp = cv2.INTER_AREA if patch.shape[0] > size else cv2.INTER_LINEAR
    return cv2.resize(patch, (size, size), interpolation=interp)
