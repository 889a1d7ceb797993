"""Detectors that need no weight download: dlib's HOG and YuNet (``yuface``).

Both return ``[K,5] float32`` rows ``(x1, y1, x2, y2, score)`` in their own framing, largest
face first (see :mod:`ppgan_app.faces.detectors.base`). The packages load on first use.
"""
from __future__ import annotations

import functools
import logging
import warnings
from typing import Optional, Tuple

import cv2
import numpy as np

from ppgan_app.errors import InputError
from ppgan_app.utils.process import limit_bundled_openmp
from ppgan_app.faces.detectors.base import (clip_and_sort, clip_faces, no_faces,
                                            sort_largest_first, working_copy)

logger = logging.getLogger(__name__)


class DlibHogDetector:
    """dlib's HOG frontal-face detector (no weights needed).

    It misses faces smaller than about 80 px, so images are upsampled (dlib's pyramid) until
    that size would be reachable: ``upsample`` levels are tried in turn, stopping at the first
    that finds a face. When dlib's 68-point shape predictor is installed
    (:func:`ppgan_app.faces.detectors.weights.find_shape_predictor`), :meth:`detect_with_landmarks` also
    gives each face's landmarks: HOG box sizes come in pyramid steps of about 20%, and the
    landmarks place the reference crop far more closely (see ``docs/faces.md``).

    Args:
        max_upsample: most pyramid upsampling levels to try (each doubles the image).
        min_score: minimum detector score kept (HOG scores of real faces are mostly > 0.5;
            weak hits on clothes or hair score near 0).
        landmarks: use the 68-point predictor when it is found (``False``: boxes only).
    """

    def __init__(self, max_upsample: int = 2, min_score: float = 0.3,
                 landmarks: bool = True) -> None:
        import dlib

        self._detector = dlib.get_frontal_face_detector()
        self.max_upsample = max_upsample
        self.min_score = min_score
        self._predictor = _shape_predictor() if landmarks else None

    @property
    def landmarks_available(self) -> bool:
        """Whether :meth:`detect_with_landmarks` gives landmarks (the predictor was found)."""
        return self._predictor is not None

    def _detect(self, image: np.ndarray) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        work, scale = working_copy(np.ascontiguousarray(image))
        # upsampling a big image costs a lot and finds nothing the plain pass misses
        levels = range(self.max_upsample + 1) if max(work.shape[:2]) <= 640 else range(1)
        for level in levels:
            rects, scores, _ = self._detector.run(work, level, self.min_score)
            if rects:
                faces = np.array([[r.left(), r.top(), r.right(), r.bottom(), s]
                                  for r, s in zip(rects, scores)], dtype=np.float32)
                faces[:, :4] /= scale
                if self._predictor is None:
                    return faces, None
                points = np.array([[(p.x, p.y) for p in self._predictor(work, r).parts()]
                                   for r in rects], dtype=np.float32) / scale
                return faces, points
        return no_faces(), None

    def __call__(self, image: np.ndarray) -> np.ndarray:
        faces, _ = self._detect(image)
        return sort_largest_first(clip_faces(faces, image.shape[:2]))

    def detect_with_landmarks(self, image: np.ndarray
                              ) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """Faces ``[K,5]`` as :meth:`__call__` gives them and their landmarks ``[K,68,2]``
        (x, y pixels), or ``None`` for the landmarks when no shape predictor is installed."""
        faces, points = self._detect(image)
        if points is None:
            return sort_largest_first(clip_faces(faces, image.shape[:2])), None
        return clip_and_sort(faces, points, image.shape[:2])


@functools.lru_cache(maxsize=None)
def _shape_predictor():
    """dlib's 68-point shape predictor, or ``None`` when its file is not installed."""
    import dlib

    from ppgan_app.faces.detectors.weights import find_shape_predictor

    path = find_shape_predictor()
    if path is None:
        logger.debug("dlib: no 68-point shape predictor found; crops framed from boxes alone")
        return None
    return dlib.shape_predictor(path)


class YuNetDetector:
    """OpenCV Zoo's YuNet through the ``yuface`` package (weights built in, 5 landmarks).

    Small images are upsampled to at least 320 px on the short side so small faces are found.

    Args:
        conf: confidence threshold in [0, 1].
        threads: OpenMP threads for yuface (1: see
            :func:`~ppgan_app.utils.process.limit_bundled_openmp`).
    """

    def __init__(self, conf: float = 0.5, threads: int = 1) -> None:
        try:
            import yuface
        except ImportError:
            raise InputError("--face_detector yunet needs the 'yuface' package: "
                             "pip install yuface") from None
        self._yuface = yuface
        self.conf = conf
        self.threads = threads

    def __call__(self, image: np.ndarray) -> np.ndarray:
        return self.detect_with_landmarks(image)[0]

    def detect_with_landmarks(self, image: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Faces ``[K,5] float32`` (largest first) and their five landmarks ``[K,5,2]`` (x, y
        pixels: image-left eye, image-right eye, nose tip, image-left and image-right mouth
        corner) in ``image [H,W,3] uint8`` RGB."""
        work, scale = working_copy(image)
        up = max(1.0, 320.0 / min(work.shape[:2]))
        if up > 1.0:
            work = cv2.resize(work, None, fx=up, fy=up, interpolation=cv2.INTER_LINEAR)
            scale *= up
        limit_bundled_openmp(self._yuface, self.threads)  # per calling thread
        with warnings.catch_warnings():  # yuface warns on large images; they still work
            warnings.simplefilter("ignore", UserWarning)
            confs, boxes, marks = self._yuface.detect(cv2.cvtColor(work, cv2.COLOR_RGB2BGR),
                                                      conf=self.conf)
        if len(boxes) == 0:
            return no_faces(), np.zeros((0, 5, 2), np.float32)
        boxes = np.asarray(boxes, np.float32)
        faces = np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:4],
                                np.asarray(confs, np.float32)[:, None] / 100.0], axis=1)
        faces[:, :4] /= scale
        points = np.asarray(marks, np.float32).reshape(-1, 5, 2) / scale
        return clip_and_sort(faces, points, image.shape[:2])
