"""tools/face_crop_convention.py: bad options are one line and exit 2; --write replaces only the
detectors it fitted (so a user with S3FD's weights can add sfd without refitting the others)."""
from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import face_calibration as calibration
from ppgan_app.faces.convention import MAPPINGS_FILE, load_mappings

TOOL = Path(__file__).resolve().parents[2] / "tools" / "face_crop_convention.py"


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("face_crop_convention", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("value", ["yunet,bogus", "blazeface", ","])
def test_unknown_detectors_are_one_line_and_exit_2(tool, capsys, value):
    assert tool.main(["--detectors", value]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--detectors" in err[0] and "yunet, dlib, sfd" in err[0]


def _pair(scale: float) -> calibration.Pair:
    """A box ``80x100 * scale`` whose reference square is ``0.96 h`` wide, centred
    ``(0.05, 0.1) * h`` off the box centre."""
    raw = np.array([100, 100, 100 + 80 * scale, 100 + 100 * scale, 0.9], np.float32)
    side, cx, cy = 96 * scale, 100 + 45 * scale, 100 + 60 * scale
    ref = np.array([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2, 1.0])
    return calibration.Pair(f"img{scale}", (600, 600), ref.astype(np.float32), raw)


def test_write_adds_a_detector_and_keeps_the_others(tool, tmp_path):
    path = tmp_path / "crop_convention.json"
    shutil.copy(MAPPINGS_FILE, path)
    report = calibration.DetectorReport("sfd", 3, [_pair(s) for s in (1.0, 1.5, 2.0)])
    fits = {"sfd": {"box": tool._fits(report, landmarks=False)}}
    tool._write(path, fits, {"sfd": report}, images=3, reference_faces=3)

    data = json.loads(path.read_text())
    shipped = json.loads(MAPPINGS_FILE.read_text())
    assert data["detectors"]["yunet"] == shipped["detectors"]["yunet"]
    assert data["detectors"]["dlib"] == shipped["detectors"]["dlib"]
    assert "sfd" not in data["not_fitted"]
    assert data["measured_crop_iou"]["sfd"]["box"]["fitted"] > 0.99
    framing = load_mappings(str(path))["sfd"]
    assert framing.landmarks is None
    # the fitted box model reproduces the reference square of an unseen size
    pair = _pair(1.25)
    np.testing.assert_allclose(framing.apply(pair.raw[None])[0, :4], pair.ref[:4], atol=0.5)
