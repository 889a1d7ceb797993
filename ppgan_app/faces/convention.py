"""One crop convention: every detector's box mapped to BlazeFace's framing.

Detectors frame faces differently (on ``skimage.data.astronaut()`` dlib's HOG box is 87 px,
BlazeFace's 100 px, YuNet's 89x112 reaching up the forehead), and PaddleGAN's margin rule turns
the box into the crop the animation network sees, so a tighter box means a face that fills more
of the crop than the FOMM checkpoints were trained with. Each detector's box is therefore mapped
to the reference framing, BlazeFace on PaddleGAN's weights (one of PaddleGAN's two detectors and
the one whose weights we could measure), before the margin rule.

A :class:`FramingModel` predicts the reference square from a detector box ``(w, h)`` and, when
the detector gives them, five landmarks (eyes, nose tip, mouth corners), through a few
scale-free features ``f`` (:data:`FEATURES`; ``f_0 = 1``)::

    side = h * exp(a . f);  centre = box centre + max(w, h) * (bx . f, by . f)

The coefficients are data: ``tools/face_crop_convention.py --write`` fits them (least squares on
the log size and the centre offsets) and writes :data:`MAPPINGS_FILE`, which this module reads.
S3FD's real weights were not available to measure: its box is used as it is (it is PaddleGAN's
default detector, so its framing is PaddleGAN's own).
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Mapping, Optional, Tuple

import numpy as np

from ppgan_app.errors import ConfigError
from ppgan_app.faces.detectors.base import FaceDetector


#: The fitted mappings, written by ``tools/face_crop_convention.py --write``.
MAPPINGS_FILE = Path(__file__).with_name("crop_convention.json")


def five_points(points: np.ndarray) -> np.ndarray:
    """Reduce landmarks ``[K,5,2]`` (YuNet's order: image-left eye, image-right eye, nose tip,
    image-left mouth corner, image-right mouth corner) or dlib's ``[K,68,2]`` to ``[K,5,2]``."""
    points = np.asarray(points, np.float64)
    if points.shape[1] == 5:
        return points
    if points.shape[1] != 68:
        raise ValueError(f"expected 5 or 68 landmarks per face, got {points.shape[1]}")
    return np.stack([points[:, 36:42].mean(1), points[:, 42:48].mean(1), points[:, 30],
                     points[:, 48], points[:, 54]], axis=1)


def _box_parts(faces: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    faces = np.atleast_2d(np.asarray(faces, np.float64))
    w = np.maximum(faces[:, 2] - faces[:, 0], 1e-6)
    h = np.maximum(faces[:, 3] - faces[:, 1], 1e-6)
    centre = np.stack([faces[:, 0] + faces[:, 2], faces[:, 1] + faces[:, 3]], axis=1) / 2
    return w, h, centre, np.maximum(w, h)


def _landmark_features(faces: np.ndarray, points: np.ndarray) -> Dict[str, np.ndarray]:
    w, h, centre, unit = _box_parts(faces)
    p = five_points(points)
    eyes = np.linalg.norm(p[:, 1] - p[:, 0], axis=1)
    mean = p.mean(axis=1)
    return {"log_eyes": np.log(np.maximum(eyes, 1e-6) / h),
            "centroid_x": (mean[:, 0] - centre[:, 0]) / unit,
            "centroid_y": (mean[:, 1] - centre[:, 1]) / unit,
            "nose_x": (p[:, 2, 0] - centre[:, 0]) / unit}


#: Feature name -> whether it needs landmarks. ``log_aspect = log(w/h)``; ``log_eyes`` = log of
#: the eye distance over ``h``; ``centroid_x/y`` and ``nose_x``: the landmarks' mean and the nose
#: tip relative to the box centre, in units of ``max(w, h)``.
FEATURES: Dict[str, bool] = {"log_aspect": False, "log_eyes": True, "centroid_x": True,
                             "centroid_y": True, "nose_x": True}


def face_features(faces: np.ndarray, points: Optional[np.ndarray] = None
                  ) -> Dict[str, np.ndarray]:
    """The features of :data:`FEATURES` (each ``[K] float64``) of boxes ``faces [K,4+]`` and, if
    given, their landmarks ``points [K,5|68,2]`` (landmark features are left out otherwise)."""
    w, h, _, _ = _box_parts(faces)
    out = {"log_aspect": np.log(w / h)}
    if points is not None:
        out.update(_landmark_features(faces, points))
    return out


@dataclass(frozen=True)
class FramingModel:
    """Detector box (+ landmarks) → reference square, see the module docstring.

    Args:
        size: ``{"intercept": a0, feature: a_i, ...}`` for ``log(side / h)``.
        centre_x, centre_y: the same for the centre offset over ``max(w, h)``.
        ranges: ``{feature: (low, high)}`` seen in fitting; features are clipped to it, so an
            unusual face (a profile, a squashed box) is not extrapolated to.
    """

    size: Mapping[str, float] = field(default_factory=dict)
    centre_x: Mapping[str, float] = field(default_factory=dict)
    centre_y: Mapping[str, float] = field(default_factory=dict)
    ranges: Mapping[str, Tuple[float, float]] = field(default_factory=dict)

    @property
    def needs_landmarks(self) -> bool:
        """Whether any coefficient is on a landmark feature."""
        names = set(self.size) | set(self.centre_x) | set(self.centre_y)
        return any(FEATURES.get(name, False) for name in names)

    def apply(self, faces: np.ndarray, points: Optional[np.ndarray] = None) -> np.ndarray:
        """Map ``faces [K,5]`` (``x1, y1, x2, y2, score``; ``points [K,5|68,2]`` when
        :attr:`needs_landmarks`) to reference squares, a new ``[K,5] float32``."""
        faces = np.asarray(faces, np.float32).reshape(-1, 5)
        if len(faces) == 0:
            return faces.copy()
        if self.needs_landmarks and points is None:
            raise ValueError("this framing model needs landmarks")
        feats = face_features(faces, points)
        for name, (low, high) in self.ranges.items():
            feats[name] = np.clip(feats[name], low, high)
        _, h, centre, unit = _box_parts(faces)

        def linear(coefs: Mapping[str, float]) -> np.ndarray:
            total = np.full(len(faces), float(coefs.get("intercept", 0.0)))
            for name, value in coefs.items():
                if name != "intercept":
                    total += value * feats[name]
            return total

        side = h * np.exp(linear(self.size))
        cx = centre[:, 0] + unit * linear(self.centre_x)
        cy = centre[:, 1] + unit * linear(self.centre_y)
        return np.stack([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2,
                         faces[:, 4]], axis=1).astype(np.float32)

    def to_dict(self) -> Dict[str, Dict[str, float]]:
        """Plain data for :data:`MAPPINGS_FILE`."""
        return {"size": dict(self.size), "centre_x": dict(self.centre_x),
                "centre_y": dict(self.centre_y),
                "ranges": {name: list(bounds) for name, bounds in self.ranges.items()}}

    @classmethod
    def from_dict(cls, data: Mapping) -> "FramingModel":
        """Inverse of :meth:`to_dict`; unknown keys or features raise ``ValueError``."""
        unknown = set(data) - {"size", "centre_x", "centre_y", "ranges"}
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}")
        ranges = {str(n): (float(low), float(high))
                  for n, (low, high) in data.get("ranges", {}).items()}
        model = cls(**{k: {str(n): float(v) for n, v in data.get(k, {}).items()}
                       for k in ("size", "centre_x", "centre_y")}, ranges=ranges)
        names = set(model.size) | set(model.centre_x) | set(model.centre_y) | set(ranges)
        bad = names - set(FEATURES) - {"intercept"}
        if bad:
            raise ValueError(f"unknown features {sorted(bad)}")
        return model


@dataclass(frozen=True)
class DetectorFraming:
    """A detector's two fitted models: with landmarks (used when the detector gives them) and
    from the box alone."""

    box: FramingModel
    landmarks: Optional[FramingModel] = None

    def apply(self, faces: np.ndarray, points: Optional[np.ndarray] = None) -> np.ndarray:
        """Map ``faces [K,5]`` with the landmark model when ``points`` are given, else the box
        model."""
        if points is not None and self.landmarks is not None and len(faces):
            return self.landmarks.apply(faces, points)
        return self.box.apply(faces)


def parse_mappings(data: Mapping) -> Dict[str, Optional[DetectorFraming]]:
    """The ``detectors`` table of :data:`MAPPINGS_FILE` → name → framing (``None``: as it is).

    Raises:
        ConfigError: a malformed table (the message names the detector).
    """
    out: Dict[str, Optional[DetectorFraming]] = {}
    for name, entry in data.get("detectors", {}).items():
        try:
            if entry is None:
                out[name] = None
                continue
            landmarks = entry.get("landmarks")
            out[name] = DetectorFraming(
                FramingModel.from_dict(entry["box"]),
                FramingModel.from_dict(landmarks) if landmarks is not None else None)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise ConfigError(f"{MAPPINGS_FILE.name}: bad mapping for {name!r} ({err}); "
                              "run tools/face_crop_convention.py --write to refit it") from None
    return out


@functools.lru_cache(maxsize=1)
def load_mappings(path: str = str(MAPPINGS_FILE)) -> Dict[str, Optional[DetectorFraming]]:
    """Read the fitted mappings (once per path).

    Raises:
        ConfigError: the file is missing or not valid JSON.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError(f"cannot read the crop convention {path} ({err}); reinstall "
                          "ppgan_app or run tools/face_crop_convention.py --write") from None
    return parse_mappings(data)


def framing_for(name: str) -> Optional[DetectorFraming]:
    """The fitted framing of detector ``name`` (``None``: its boxes are used as they are)."""
    return load_mappings().get(name)


class ReferenceFraming:
    """Wrap a detector so its boxes come out in the reference framing (clipped to the image).

    Detectors with a ``detect_with_landmarks(image) -> (faces [K,5], points [K,P,2] or None)``
    method are mapped with their landmark model when they return landmarks.

    Args:
        detector: ``image -> [K,5]`` in the detector's own framing.
        name: the detector's name in :data:`MAPPINGS_FILE`.
        framing: the mapping to use (default: the fitted one of ``name``).
    """

    def __init__(self, detector: FaceDetector, name: str,
                 framing: Optional[DetectorFraming] = None) -> None:
        self.detector = detector
        self.name = name
        self.framing = framing if framing is not None else framing_for(name)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        from ppgan_app.faces.detectors.base import clip_faces, sort_largest_first

        with_landmarks: Optional[Callable] = getattr(self.detector, "detect_with_landmarks", None)
        if self.framing is None:
            faces = self.detector(image)
        elif with_landmarks is not None and self.framing.landmarks is not None:
            faces, points = with_landmarks(image)
            faces = self.framing.apply(faces, points)
        else:
            faces = self.framing.apply(self.detector(image))
        return sort_largest_first(clip_faces(faces, image.shape[:2]))
