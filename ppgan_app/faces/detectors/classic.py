"""Face detectors for the expression-transfer app.

Every detector is a callable ``detect(image) -> faces`` with ``image [H,W,3] uint8`` RGB and
``faces [K,5] float32`` rows ``(x1, y1, x2, y2, score)`` in image pixels, largest face first
(``K = 0`` when nothing is found). Heavy packages (dlib, yuface) are imported on first use.
"""
from __future__ import annotations

import logging
import warnings
from typing import Callable, Dict, Tuple

import cv2
import numpy as np

from ppgan_app.apps.errors import InputError

logger = logging.getLogger(__name__)

FaceDetector = Callable[[np.ndarray], np.ndarray]

#: Images are detected at a working size: larger images are shrunk to this longest side first.
MAX_DETECT_SIDE = 1024


def sort_largest_first(faces: np.ndarray) -> np.ndarray:
    """Sort ``faces [K,5]`` by box area, largest first (the result is returned, not discarded)."""
    if len(faces) == 0:
        return faces.reshape(0, 5).astype(np.float32)
    areas = (faces[:, 2] - faces[:, 0]) * (faces[:, 3] - faces[:, 1])
    return faces[np.argsort(-areas, kind="stable")].astype(np.float32)


def _working_copy(image: np.ndarray) -> Tuple[np.ndarray, float]:
    """Shrink ``image`` so its longest side is at most MAX_DETECT_SIDE; return it and the scale."""
    height, width = image.shape[:2]
    scale = min(1.0, MAX_DETECT_SIDE / max(height, width))
    if scale < 1.0:
        image = cv2.resize(image, (int(round(width * scale)), int(round(height * scale))),
                           interpolation=cv2.INTER_AREA)
    return image, scale


class DlibHogDetector:
    """dlib's HOG frontal-face detector (no weights needed).

    It misses faces smaller than about 80 px, so images are upsampled (dlib's pyramid) until
    that size would be reachable: ``upsample`` levels are tried in turn, stopping at the first
    that finds a face.

    Args:
        max_upsample: most pyramid upsampling levels to try (each doubles the image).
        min_score: minimum detector score kept (HOG scores of real faces are mostly > 0.5;
            weak hits on clothes or hair score near 0).
    """

    def __init__(self, max_upsample: int = 2, min_score: float = 0.3) -> None:
        import dlib

        self._detector = dlib.get_frontal_face_detector()
        self.max_upsample = max_upsample
        self.min_score = min_score

    def __call__(self, image: np.ndarray) -> np.ndarray:
        work, scale = _working_copy(np.ascontiguousarray(image))
        # upsampling a big image costs a lot and finds nothing the plain pass misses
        levels = range(self.max_upsample + 1) if max(work.shape[:2]) <= 640 else range(1)
        for level in levels:
            rects, scores, _ = self._detector.run(work, level, self.min_score)
            if rects:
                faces = np.array([[r.left(), r.top(), r.right(), r.bottom(), s]
                                  for r, s in zip(rects, scores)], dtype=np.float32)
                faces[:, :4] /= scale
                return sort_largest_first(_clip(faces, image.shape[:2]))
        return np.zeros((0, 5), np.float32)


class YuNetDetector:
    """OpenCV Zoo's YuNet through the ``yuface`` package (weights built in).

    Small images are upsampled to at least 320 px on the short side so small faces are found.

    Args:
        conf: confidence threshold in [0, 1].
    """

    def __init__(self, conf: float = 0.5) -> None:
        try:
            import yuface
        except ImportError:
            raise InputError("--face_detector yunet needs the 'yuface' package: "
                             "pip install yuface") from None
        self._yuface = yuface
        self.conf = conf

    def __call__(self, image: np.ndarray) -> np.ndarray:
        work, scale = _working_copy(image)
        up = max(1.0, 320.0 / min(work.shape[:2]))
        if up > 1.0:
            work = cv2.resize(work, None, fx=up, fy=up, interpolation=cv2.INTER_LINEAR)
            scale *= up
        with warnings.catch_warnings():  # yuface warns on large images; they still work
            warnings.simplefilter("ignore", UserWarning)
            confs, boxes, _ = self._yuface.detect(cv2.cvtColor(work, cv2.COLOR_RGB2BGR),
                                                  conf=self.conf)
        if len(boxes) == 0:
            return np.zeros((0, 5), np.float32)
        boxes = np.asarray(boxes, np.float32)
        faces = np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:4],
                                np.asarray(confs, np.float32)[:, None] / 100.0], axis=1)
        faces[:, :4] /= scale
        return sort_largest_first(_clip(faces, image.shape[:2]))


def _clip(faces: np.ndarray, image_hw: Tuple[int, int]) -> np.ndarray:
    height, width = image_hw
    faces[:, [0, 2]] = np.clip(faces[:, [0, 2]], 0, width)
    faces[:, [1, 3]] = np.clip(faces[:, [1, 3]], 0, height)
    keep = (faces[:, 2] > faces[:, 0]) & (faces[:, 3] > faces[:, 1])
    return faces[keep]


_NOT_BUILT = {
    "sfd": "S3FD",
    "blazeface": "BlazeFace",
}

DETECTORS: Dict[str, Callable[[], FaceDetector]] = {
    "dlib": DlibHogDetector,
    "yunet": YuNetDetector,
}


def build_face_detector(name: str) -> FaceDetector:
    """Return the detector called ``name`` (``dlib``, ``yunet``).

    Raises:
        InputError: PaddleGAN's ``sfd``/``blazeface`` (not built in ppgan_app) or an unknown name.
    """
    if name in DETECTORS:
        return DETECTORS[name]()
    if name in _NOT_BUILT:
        raise InputError(
            f"--face_detector {name}: PaddleGAN's {_NOT_BUILT[name]} network is not built in "
            f"ppgan_app yet; use --face_detector dlib (default, no weights) or yunet")
    raise InputError(f"unknown --face_detector {name!r}; choose from "
                     f"{', '.join(sorted(DETECTORS) + sorted(_NOT_BUILT))}")
