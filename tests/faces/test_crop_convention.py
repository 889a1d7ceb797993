"""The crop convention: each detector's final crop agrees with BlazeFace's (floors below the
figures measured by tools/face_crop_convention.py on the full set: yunet 0.898, dlib 0.849), and
the mapping is what makes it agree."""
from __future__ import annotations

import numpy as np
import pytest

from ppgan_app.faces.convention import MAPPINGS, BoxMapping, ReferenceFraming


def test_mapping_moves_and_scales_a_box():
    mapping = BoxMapping(dx=0.1, dy=-0.2, kw=0.5, kh=1.0)
    (x1, y1, x2, y2, score), = mapping.apply(np.array([[0, 0, 100, 50, 0.9]]))
    assert (x1 + x2) / 2 == pytest.approx(50 + 10) and (y1 + y2) / 2 == pytest.approx(25 - 20)
    assert x2 - x1 == pytest.approx(100) and y2 - y1 == pytest.approx(100)  # 0.5*100 + 50
    assert score == pytest.approx(0.9)


def test_reference_framing_wraps_a_detector():
    faces = np.array([[10, 10, 40, 50, 0.8]], np.float32)
    wrapped = ReferenceFraming(lambda image: faces, "yunet")
    out = wrapped(np.zeros((100, 100, 3), np.uint8))
    np.testing.assert_allclose(out, np.clip(MAPPINGS["yunet"].apply(faces), 0, 100), atol=1e-4)
    assert ReferenceFraming(lambda image: faces, "sfd")(np.zeros((100, 100, 3), np.uint8)) \
        .tolist() == faces.tolist()


@pytest.fixture(scope="module")
def reports(blazeface_files):
    from ppgan_app.faces import calibration
    from ppgan_app.faces.detectors import build_raw_detector
    from ppgan_app.faces.detectors.blazeface import BlazeFaceDetector

    reference = BlazeFaceDetector(str(blazeface_files / "blazeface.pdparams"),
                                  str(blazeface_files / "anchors.npy"))
    images = calibration.face_set(blazeface_files, lfw_faces=12, driving_frames=6)  # 36 images
    detectors = {"dlib": build_raw_detector("dlib"), "yunet": build_raw_detector("yunet")}
    return calibration.collect_pairs(images, reference, detectors)


@pytest.mark.parametrize("name, floor, min_found", [("yunet", 0.88, 0.9), ("dlib", 0.83, 0.8)])
def test_crops_agree_with_blazeface(reports, name, floor, min_found):
    report = reports[name]
    assert len(report.pairs) >= min_found * report.reference_faces
    assert report.crop_ious(MAPPINGS[name]).mean() >= floor


def test_yunet_mapping_is_what_makes_its_crops_agree(reports):
    report = reports["yunet"]
    assert report.crop_ious(MAPPINGS["yunet"]).mean() > report.crop_ious(None).mean() + 0.05
