"""One crop convention: every detector's box mapped to BlazeFace's framing.

Detectors frame faces differently (on ``skimage.data.astronaut()`` dlib's HOG box is 87 px,
BlazeFace's 100 px, YuNet's 89x112 reaching up the forehead), and PaddleGAN's margin rule turns
the box into the crop the animation network sees, so a tighter box means a face that fills more
of the crop than the FOMM checkpoints were trained with. Each detector's box is therefore mapped
to the reference framing, BlazeFace on PaddleGAN's weights (one of PaddleGAN's two detectors and
the one whose weights we could measure), before the margin rule:

    side = kw * w + kh * h;  centre = (cx + dx * max(w, h), cy + dy * max(w, h))

The numbers below were fitted (medians over matched faces) by ``tools/face_crop_convention.py``,
which also prints each detector's crop IoU with BlazeFace's crop before and after the mapping.
S3FD's real weights were not available to measure: its box is used as it is (it is PaddleGAN's
default detector, so its framing is PaddleGAN's own).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional

import numpy as np

from ppgan_app.faces.detectors.base import FaceDetector


@dataclass(frozen=True)
class BoxMapping:
    """A detector box ``(w, h)`` → a reference square of side ``kw * w + kh * h`` around the
    box centre shifted by ``(dx, dy) * max(w, h)``. ``None`` in :data:`MAPPINGS` = unchanged."""

    dx: float = 0.0
    dy: float = 0.0
    kw: float = 0.0
    kh: float = 1.0

    def apply(self, faces: np.ndarray) -> np.ndarray:
        """Map ``faces [K,5]`` (``x1, y1, x2, y2, score``); returns a new ``[K,5] float32``."""
        faces = np.asarray(faces, np.float32).reshape(-1, 5)
        w, h = faces[:, 2] - faces[:, 0], faces[:, 3] - faces[:, 1]
        unit = np.maximum(w, h)
        cx = (faces[:, 0] + faces[:, 2]) / 2 + self.dx * unit
        cy = (faces[:, 1] + faces[:, 3]) / 2 + self.dy * unit
        half = (self.kw * w + self.kh * h) / 2
        return np.stack([cx - half, cy - half, cx + half, cy + half, faces[:, 4]],
                        axis=1).astype(np.float32)


#: Fitted by tools/face_crop_convention.py on 45 images / 48 BlazeFace faces. Mean crop IoU
#: with BlazeFace's crop, raw -> mapped (cross-validated): dlib 0.845 -> 0.849 (0.846),
#: yunet 0.796 -> 0.898 (0.897). BlazeFace run PaddleGAN's way (BGR, central square): 0.962.
MAPPINGS: Dict[str, Optional[BoxMapping]] = {
    "blazeface": None,  # the reference itself
    "sfd": None,        # PaddleGAN's default; not measurable without its weights
    "dlib": BoxMapping(dx=0.02, dy=0.045, kw=0.0, kh=1.008),
    "yunet": BoxMapping(dx=0.018, dy=0.085, kw=0.709, kh=0.299),
}


class ReferenceFraming:
    """Wrap a detector so its boxes come out in the reference framing (clipped to the image).

    Args:
        detector: ``image -> [K,5]`` in the detector's own framing.
        name: the detector's name in :data:`MAPPINGS`.
    """

    def __init__(self, detector: FaceDetector, name: str) -> None:
        self.detector = detector
        self.name = name
        self.mapping = MAPPINGS[name]

    def __call__(self, image: np.ndarray) -> np.ndarray:
        from ppgan_app.faces.detectors.base import clip_faces, sort_largest_first

        faces = self.detector(image)
        if self.mapping is not None:
            faces = self.mapping.apply(faces)
        return sort_largest_first(clip_faces(faces, image.shape[:2]))
