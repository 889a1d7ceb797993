"""Face landmarks and the pose distance used by ``--find_best_frame``.

``--find_best_frame`` compares poses with YuNet's five landmarks (eyes, nose tip, mouth
corners; :class:`YuNetLandmarker`): the model is inside the ``yuface`` wheel, so it works out of
the box. dlib's 68 points (:class:`DlibLandmarker`) remain available to the API; its shape
predictor is a separate file (its training data forbids commercial use, so it is optional),
looked up in this order: the ``PPGAN_APP_DLIB_LANDMARKS`` environment variable, the
``face_recognition_models`` package, Debian's ``libdlib-data``. The two choose frames of the
same pose (docs/faces.md, "Best frame").
"""
from __future__ import annotations

import logging
from typing import Iterable, Optional

import cv2
import numpy as np

from ppgan_app.errors import InputError
from ppgan_app.faces.detectors.weights import ENV_VAR, PREDICTOR_FILE, find_shape_predictor

logger = logging.getLogger(__name__)

class DlibLandmarker:
    """Largest face's 68 landmarks with dlib (HOG detector + shape predictor).

    Args:
        predictor_path: the ``.dat`` file; ``None`` searches as :func:`find_shape_predictor` does.

    Raises:
        InputError: no predictor file can be found (the message says how to get one).
    """

    def __init__(self, predictor_path: Optional[str] = None) -> None:
        path = predictor_path or find_shape_predictor()
        if path is None:
            raise InputError(
                "dlib's 68-point landmark model not found: pip install face_recognition_models "
                "(non-commercial use), or apt install libdlib-data, or set "
                f"{ENV_VAR}=/path/to/{PREDICTOR_FILE} (--find_best_frame does not need it: "
                "it uses YuNet's five landmarks)")
        import dlib

        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(path)

    def __call__(self, image: np.ndarray) -> Optional[np.ndarray]:
        """Landmarks ``[68,2] float32`` (x, y pixels) of the largest face in
        ``image [H,W,3] uint8``, or ``None`` when no face is found."""
        import dlib

        image = np.ascontiguousarray(image)
        rects = self._detector(image, 0) or self._detector(image, 1)  # upsample small faces
        if not rects:
            return None
        rect = max(rects, key=lambda r: r.width() * r.height())
        shape = self._predictor(image, dlib.rectangle(rect.left(), rect.top(), rect.right(),
                                                      rect.bottom()))
        return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)


class YuNetLandmarker:
    """Five landmarks of the largest face, from YuNet (the default detector; no extra file).

    Args:
        detector: a ``YuNetDetector`` to share (default: a new one).
    """

    def __init__(self, detector: Optional[object] = None) -> None:
        if detector is None:
            from ppgan_app.faces.detectors.classic import YuNetDetector

            detector = YuNetDetector()
        self._detector = detector

    def __call__(self, image: np.ndarray) -> Optional[np.ndarray]:
        """Landmarks ``[5,2] float32`` (x, y pixels: image-left eye, image-right eye, nose tip,
        mouth corners) of the largest face in ``image [H,W,3] uint8`` RGB, or ``None``."""
        faces, points = self._detector.detect_with_landmarks(np.ascontiguousarray(image))
        return points[0] if len(faces) else None


def normalize_landmarks(points: np.ndarray) -> np.ndarray:
    """Remove position and scale: centre on the mean and divide by sqrt(convex-hull area).

    Args:
        points: ``[K,2]`` landmark coordinates.
    Returns:
        ``[K,2] float64``.
    """
    pts = np.asarray(points, np.float64)
    pts = pts - pts.mean(axis=0, keepdims=True)
    area = cv2.contourArea(cv2.convexHull(pts.astype(np.float32)))
    return pts / np.sqrt(max(area, 1e-12))


def best_frame_index(source_landmarks: np.ndarray,
                     driving_landmarks: Iterable[Optional[np.ndarray]]) -> int:
    """Index of the driving frame whose normalised landmarks are closest (sum of squared
    differences) to the source's. Frames without landmarks (``None``) are skipped; 0 if none
    has any.
    """
    src = normalize_landmarks(source_landmarks)
    best, best_dist = 0, np.inf
    for index, points in enumerate(driving_landmarks):
        if points is None:
            continue
        dist = float(((normalize_landmarks(points) - src) ** 2).sum())
        if dist < best_dist:
            best, best_dist = index, dist
    if not np.isfinite(best_dist):
        logger.warning("no face found in any driving frame; starting from frame 0")
    return best
