"""normalize_kp against PaddleGAN's (fixtures), and the convex hull area."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import paddle
import pytest

from ppgan_app.models.firstorder.normalize_kp import convex_hull_area, movement_scale, normalize_kp

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "fomm"
CASES = {"absolute": (False, False), "relative": (True, False),
         "relative_adapt": (True, True), "absolute_adapt": (False, True)}


@pytest.fixture(scope="module")
def data():
    return dict(np.load(FIXTURES / "normalize_kp.npz"))


def _kp(data, name):
    return {"value": paddle.to_tensor(data[f"{name}_value"]),
            "jacobian": paddle.to_tensor(data[f"{name}_jacobian"])}


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_paddlegan(data, case):
    relative, adapt = CASES[case]
    out = normalize_kp(_kp(data, "source"), _kp(data, "driving"), _kp(data, "driving_initial"),
                       adapt_movement_scale=adapt, use_relative_movement=relative,
                       use_relative_jacobian=relative)
    np.testing.assert_allclose(out["value"].numpy(), data[f"{case}_value"], atol=1e-5)
    np.testing.assert_allclose(out["jacobian"].numpy(), data[f"{case}_jacobian"], atol=1e-4)


def test_adapt_scale_changes_relative_motion(data):
    scale = movement_scale(_kp(data, "source"), _kp(data, "driving_initial"))
    assert scale != pytest.approx(1.0)
    assert not np.allclose(data["relative_value"], data["relative_adapt_value"])


def test_convex_hull_area_known_shapes():
    square = np.array([[0, 0], [2, 0], [2, 2], [0, 2], [1, 1], [0.5, 1.5]])
    assert convex_hull_area(square) == pytest.approx(4.0)
    triangle = np.array([[0, 0], [4, 0], [0, 3]])
    assert convex_hull_area(triangle) == pytest.approx(6.0)
    assert convex_hull_area(np.array([[0, 0], [1, 1], [2, 2]])) == 0.0   # collinear
    assert convex_hull_area(np.array([[0, 0], [1, 1]])) == 0.0


def test_convex_hull_area_matches_opencv():
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(3)
    for _ in range(20):
        pts = rng.uniform(-1, 1, (10, 2)).astype("float32")
        expected = cv2.contourArea(cv2.convexHull(pts))
        assert convex_hull_area(pts) == pytest.approx(expected, rel=1e-5)


def test_collinear_driving_falls_back_to_unit_scale():
    line = {"value": paddle.to_tensor(np.array([[[0.0, 0.0], [0.5, 0.5], [1.0, 1.0]]], "float32"))}
    tri = {"value": paddle.to_tensor(np.array([[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]], "float32"))}
    assert movement_scale(tri, line) == 1.0
