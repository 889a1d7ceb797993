"""The driving face: found by a kit detector, tracked between periodic re-detections."""
from __future__ import annotations

import logging
from typing import Callable, Optional, Tuple

import numpy as np

from ppgan_app.faces.crop import Box, crop_resize, driving_crop_box

logger = logging.getLogger(__name__)


class FaceTracker:
    """Crops the driving face out of camera frames.

    The detector runs on the first frame and every ``redetect_every`` frames after; in between
    the last crop box is kept. The box is eased towards each new detection (``smoothing``) so
    that the crop does not jump with detector noise; until a face is first found the whole frame
    (its centre square) is used.

    Args:
        detector: ``image [H,W,3] uint8 RGB -> [K,5]`` boxes, largest first (``ppgan_app.faces``).
        size: side of the crops (the network's input).
        redetect_every: frames between detections (1: every frame).
        smoothing: weight of the previous box when a new detection arrives (0: none).
    """

    def __init__(self, detector: Callable[[np.ndarray], np.ndarray], size: int,
                 redetect_every: int = 10, smoothing: float = 0.5) -> None:
        self.detector = detector
        self.size = int(size)
        self.redetect_every = max(1, int(redetect_every))
        self.smoothing = float(smoothing)
        self.box: Optional[np.ndarray] = None
        self.face_found = False       # whether the current box comes from a detection
        self._frames = 0
        self.detections = 0

    def crop(self, image: np.ndarray) -> np.ndarray:
        """``image [H,W,3] uint8`` -> the face crop ``[S,S,3] uint8``."""
        if self._frames % self.redetect_every == 0 or self.box is None:
            self._update(image)
        self._frames += 1
        return crop_resize(image, self._int_box(image.shape[:2]), self.size)

    def _update(self, image: np.ndarray) -> None:
        faces = self.detector(image)
        self.detections += 1
        if len(faces) == 0:
            if self.box is None:
                height, width = image.shape[:2]
                side = min(height, width)
                self.box = np.array([(width - side) / 2, (height - side) / 2,
                                     (width + side) / 2, (height + side) / 2], np.float64)
            return
        box = np.asarray(driving_crop_box(faces[:1], image.shape[:2]), np.float64)
        if self.box is not None and self.face_found:
            box = self.smoothing * self.box + (1.0 - self.smoothing) * box
        self.box, self.face_found = box, True

    def _int_box(self, image_hw: Tuple[int, int]) -> Box:
        x1, y1, x2, y2 = (int(round(v)) for v in self.box)
        height, width = image_hw
        side = max(1, min(x2 - x1, y2 - y1, height, width))
        x1 = min(max(0, x1), width - side)
        y1 = min(max(0, y1), height - side)
        return (x1, y1, x1 + side, y1 + side)
