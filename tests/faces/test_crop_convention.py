"""The crop convention: the fitted mappings are data the module reads, they map boxes and
landmarks as documented, and each detector's final crop agrees with BlazeFace's (floors below
the figures of tools/face_crop_convention.py on the full set: yunet 0.904 fitted / 0.900 left
one image out, dlib with landmarks 0.907 / 0.902)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from ppgan_app.errors import ConfigError
from ppgan_app.faces.convention import (MAPPINGS_FILE, DetectorFraming, FramingModel,
                                        ReferenceFraming, five_points, load_mappings,
                                        parse_mappings)

FACE = np.array([[100, 50, 180, 150, 0.9]], np.float32)  # w 80, h 100
# eyes at (120, 80) and (160, 80), nose (140, 100), mouth corners (125, 125) and (155, 125)
POINTS = np.array([[[120, 80], [160, 80], [140, 100], [125, 125], [155, 125]]], np.float32)


def test_box_model_scales_by_aspect_and_shifts_by_the_box_side():
    model = FramingModel(size={"intercept": np.log(1.2), "log_aspect": 0.0},
                         centre_x={"intercept": 0.1}, centre_y={"intercept": -0.05})
    (x1, y1, x2, y2, score), = model.apply(FACE)
    assert x2 - x1 == pytest.approx(120, abs=1e-3) and y2 - y1 == pytest.approx(120, abs=1e-3)
    assert (x1 + x2) / 2 == pytest.approx(140 + 0.1 * 100, abs=1e-3)  # unit = max(w, h)
    assert (y1 + y2) / 2 == pytest.approx(100 - 0.05 * 100, abs=1e-3)
    assert score == pytest.approx(0.9)
    # side = h * (w/h)^1 = w with a unit aspect coefficient
    (x1, _, x2, _, _), = FramingModel(size={"log_aspect": 1.0}).apply(FACE)
    assert x2 - x1 == pytest.approx(80, abs=1e-3)


def test_landmark_model_follows_the_landmarks():
    model = FramingModel(size={"log_eyes": 1.0}, centre_x={"centroid_x": 1.0},
                         centre_y={"centroid_y": 1.0})
    assert model.needs_landmarks
    (x1, y1, x2, y2, _), = model.apply(FACE, POINTS)
    assert x2 - x1 == pytest.approx(40, abs=1e-3)  # h * (eyes / h)
    assert (x1 + x2) / 2 == pytest.approx(POINTS[0, :, 0].mean(), abs=1e-3)
    assert (y1 + y2) / 2 == pytest.approx(POINTS[0, :, 1].mean(), abs=1e-3)
    with pytest.raises(ValueError):
        model.apply(FACE)


def test_features_are_clipped_to_the_fitted_range():
    free = FramingModel(centre_x={"nose_x": 1.0})
    capped = FramingModel(centre_x={"nose_x": 1.0}, ranges={"nose_x": (-0.05, 0.05)})
    turned = POINTS.copy()
    turned[0, 2, 0] = 170  # nose 30 px right of the box centre: nose_x = 0.3
    (x1, _, x2, _, _), = free.apply(FACE, turned)
    assert (x1 + x2) / 2 == pytest.approx(140 + 30, abs=1e-3)
    (x1, _, x2, _, _), = capped.apply(FACE, turned)
    assert (x1 + x2) / 2 == pytest.approx(140 + 0.05 * 100, abs=1e-3)


def test_dlib_68_points_become_the_same_five():
    points = np.zeros((1, 68, 2), np.float32)
    points[0, 36:42] = (10, 20)
    points[0, 42:48] = (30, 20)
    points[0, 30] = (20, 30)
    points[0, 48], points[0, 54] = (12, 40), (28, 40)
    np.testing.assert_allclose(five_points(points)[0],
                               [[10, 20], [30, 20], [20, 30], [12, 40], [28, 40]])


def test_shipped_mappings_cover_every_detector():
    from ppgan_app.faces.detectors import DETECTOR_NAMES

    mappings = load_mappings()
    assert set(mappings) == set(DETECTOR_NAMES)
    assert mappings["blazeface"] is None and mappings["sfd"] is None  # reference; unmeasurable
    for name in ("yunet", "dlib"):
        assert not mappings[name].box.needs_landmarks and mappings[name].landmarks.needs_landmarks


def test_a_broken_mappings_file_is_one_config_error(tmp_path):
    data = json.loads(MAPPINGS_FILE.read_text())
    data["detectors"]["yunet"]["box"]["size"]["wrinkles"] = 1.0
    with pytest.raises(ConfigError, match="yunet.*face_crop_convention.py --write"):
        parse_mappings(data)
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read the crop convention"):
        load_mappings(str(path))


class _FakeDetector:
    def __call__(self, image):
        return FACE.copy()

    def detect_with_landmarks(self, image):
        return FACE.copy(), POINTS.copy()


def test_reference_framing_uses_landmarks_when_the_detector_gives_them():
    box = FramingModel(size={"intercept": 0.0})
    landmarks = FramingModel(size={"log_eyes": 1.0}, centre_x={"centroid_x": 1.0})
    image = np.zeros((300, 300, 3), np.uint8)
    with_points = ReferenceFraming(_FakeDetector(), "yunet", DetectorFraming(box, landmarks))
    np.testing.assert_allclose(with_points(image), landmarks.apply(FACE, POINTS), atol=1e-4)
    boxes_only = ReferenceFraming(lambda image: FACE.copy(), "yunet",
                                  DetectorFraming(box, landmarks))
    np.testing.assert_allclose(boxes_only(image), box.apply(FACE), atol=1e-4)
    assert ReferenceFraming(lambda image: FACE.copy(), "sfd")(image).tolist() == FACE.tolist()


def test_clip_and_sort_keeps_landmarks_beside_their_face():
    from ppgan_app.faces.detectors.base import clip_and_sort

    faces = np.array([[0, 0, 10, 10, 0.5], [200, 200, 210, 210, 0.6], [0, 0, 50, 50, 0.7]])
    points = np.arange(3 * 5 * 2, dtype=np.float32).reshape(3, 5, 2)
    kept, kept_points = clip_and_sort(faces, points, (100, 100))
    assert kept[:, 4].tolist() == pytest.approx([0.7, 0.5])  # largest first, outside dropped
    np.testing.assert_array_equal(kept_points, points[[2, 0]])


# ----------------------------------------------------------------------------- real faces

@pytest.fixture(scope="module")
def reports(blazeface_files):
    import face_calibration as calibration
    from ppgan_app.faces.detectors import build_raw_detector
    from ppgan_app.faces.detectors.blazeface import BlazeFaceDetector

    reference = BlazeFaceDetector(str(blazeface_files / "blazeface.pdparams"),
                                  str(blazeface_files / "anchors.npy"))
    images = calibration.face_set(blazeface_files, lfw_faces=12, driving_frames=6)  # 36 images
    detectors = {"dlib": build_raw_detector("dlib"), "yunet": build_raw_detector("yunet")}
    return calibration.collect_pairs(images, reference, detectors)


def _dlib_landmarks(reports):
    if not reports["dlib"].has_landmarks:
        pytest.skip("dlib's 68-point shape predictor is not installed (face_recognition_models)")


@pytest.mark.parametrize("name, kind, floor, min_found", [
    ("yunet", "landmarks", 0.90, 0.9), ("yunet", "box", 0.89, 0.9),
    ("dlib", "landmarks", 0.89, 0.8), ("dlib", "box", 0.83, 0.8)])
def test_crops_agree_with_blazeface(reports, name, kind, floor, min_found):
    if kind == "landmarks" and name == "dlib":
        _dlib_landmarks(reports)
    report = reports[name]
    assert len(report.pairs) >= min_found * report.reference_faces
    assert report.crop_ious(getattr(load_mappings()[name], kind)).mean() >= floor


def test_landmarks_are_what_make_dlib_agree(reports):
    _dlib_landmarks(reports)
    report, framing = reports["dlib"], load_mappings()["dlib"]
    assert report.crop_ious(framing.landmarks).mean() > report.crop_ious(framing.box).mean() + 0.03


def test_yunet_mapping_is_what_makes_its_crops_agree(reports):
    report = reports["yunet"]
    assert report.crop_ious(load_mappings()["yunet"].landmarks).mean() > \
        report.crop_ious(None).mean() + 0.05


def test_mapping_fitted_without_an_image_still_agrees_on_it(reports):
    import face_calibration as calibration

    report = reports["yunet"]
    spec = calibration.model_spec("yunet", landmarks=True)
    held_out = calibration.held_out_ious(report, spec, calibration.CV_GROUPS["image"])
    assert held_out.mean() >= 0.89
    assert held_out.mean() <= report.crop_ious(calibration.fit_mapping(report.pairs, spec)).mean()
