"""Face detectors by name: ``sfd`` (S3FD), ``blazeface``, ``dlib`` (HOG), ``yunet``.

:func:`build_face_detector` returns a callable ``detect(image [H,W,3] uint8 RGB) -> [K,5]
float32`` rows ``(x1, y1, x2, y2, score)``, largest face first, with boxes already mapped to
the reference framing (:mod:`ppgan_app.faces.convention`), so every detector's crop agrees.
"""
from __future__ import annotations

import importlib
from typing import Dict, Tuple

from ppgan_app.errors import InputError
from ppgan_app.faces.detectors.base import FaceDetector

#: name -> (module, class). The one list of detector choices (CLI, options, docs read it).
DETECTORS: Dict[str, Tuple[str, str]] = {
    "sfd": ("ppgan_app.faces.detectors.s3fd", "S3FDDetector"),
    "blazeface": ("ppgan_app.faces.detectors.blazeface", "BlazeFaceDetector"),
    "dlib": ("ppgan_app.faces.detectors.classic", "DlibHogDetector"),
    "yunet": ("ppgan_app.faces.detectors.classic", "YuNetDetector"),
}
DETECTOR_NAMES = tuple(DETECTORS)


def check_detector_name(name: str) -> str:
    """Return ``name`` if it is a known detector.

    Raises:
        InputError: unknown name (the message lists the choices).
    """
    if name not in DETECTORS:
        raise InputError(f"unknown --face_detector {name!r}; choose from "
                         f"{', '.join(DETECTOR_NAMES)}")
    return name


def build_raw_detector(name: str) -> FaceDetector:
    """The detector ``name`` with its own box framing (used to fit the convention)."""
    module, cls = DETECTORS[check_detector_name(name)]
    return getattr(importlib.import_module(module), cls)()


def build_face_detector(name: str) -> FaceDetector:
    """The detector ``name``, its boxes mapped to the reference framing.

    Raises:
        InputError: unknown name; WeightsUnavailableError: ``sfd``/``blazeface`` weights
            missing (the message says where to put them).
    """
    from ppgan_app.faces.convention import ReferenceFraming

    return ReferenceFraming(build_raw_detector(name), name)
