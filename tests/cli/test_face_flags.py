"""The face flags of first-order-demo.py: --face_detector, --crop_driving, --smooth,
--face_enhancement. Every bad value is one stderr line and exit code 2, before any work."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ppgan_app.cli.first_order import main

SHARED_BLAZEFACE = Path(__file__).resolve().parents[3] / "shared" / "data" / "blazeface"


@pytest.fixture(autouse=True)
def _offline(tmp_path, monkeypatch):
    from ppgan_app.utils import download

    monkeypatch.setenv(download.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(download, "_sleep", lambda seconds: None)

    def offline(url, timeout):
        raise OSError("network disabled in tests")

    monkeypatch.setattr(download, "_open_url", offline)


def _run(argv, capsys):
    code = main(argv)
    err = capsys.readouterr().err
    return code, [line for line in err.splitlines() if line.strip()]


@pytest.mark.parametrize("argv, expected", [
    (["--face_detector", "mtcnn"], "--face_detector 'mtcnn' is not one of: sfd, blazeface, "
                                   "dlib, yunet"),
    (["--face_detector"], "expected one argument"),
    (["--crop_driving", "sometimes"], "--crop_driving 'sometimes' is not one of: auto, on, off"),
    (["--crop_driving"], "expected one argument"),
    (["--smooth", "0.5"], "unrecognized arguments: 0.5"),
    (["--smooth=yes"], "ignored explicit argument"),
    (["--batch_size", "two"], "invalid int value"),
    (["--ratio", "-1"], "--ratio must be in (0, 2]"),
])
def test_bad_values_are_one_line_and_exit_2(argv, expected, tmp_path, capsys, monkeypatch):
    from ppgan_app.apps.expression_transfer import predictor

    monkeypatch.setattr(predictor, "read_source_image",
                        lambda path: pytest.fail("work started before the options were checked"))
    code, lines = _run(argv + ["--output", str(tmp_path / "out"), "--quiet"], capsys)
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], lines
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name, file", [("sfd", "s3fd_paddle.pdparams"),
                                        ("blazeface", "blazeface.pdparams")])
def test_missing_detector_weights_say_where_to_put_them(name, file, tmp_path, capsys):
    code, lines = _run(["--face_detector", name, "--output", str(tmp_path / "out"), "--quiet"],
                       capsys)
    assert code == 2 and len(lines) == 1, lines
    assert file in lines[0] and str(tmp_path / "cache" / file) in lines[0]


def test_face_enhancement_without_gpen_weights_is_one_line(tmp_path, capsys, tiny_fomm):
    out = tmp_path / "out"
    code, lines = _run(["--config", tiny_fomm["config"], "--weight_path", tiny_fomm["weights"],
                        "--image_size", "64", "--engine", "dygraph", "--face_enhancement",
                        "--output", str(out), "--quiet"], capsys)
    assert code == 2 and len(lines) == 1, lines
    assert "GPEN-512.pdparams" in lines[0] and str(tmp_path / "cache") in lines[0]
    assert not (out / "result.mp4").exists()


def _tiny_gpen(folder: Path):
    """A seeded random GPEN at 64 px (the architecture of tests/faces/test_gpen.py)."""
    import paddle

    from ppgan_app.faces.enhancement import GPEN, FaceEnhancer

    arch = {"size": 64, "style_dim": 16, "n_mlp": 2, "channel_divisor": 32}
    paddle.seed(3)
    net = GPEN(**arch)
    path = folder / "tiny_gpen.pdparams"
    paddle.save(net.state_dict(), str(path))
    return FaceEnhancer(weight_path=path, **arch)


def test_face_enhancement_end_to_end_with_a_tiny_gpen(tmp_path, capsys, tiny_fomm, monkeypatch):
    from ppgan_app.apps.expression_transfer import predictor
    from ppgan_app.media.video import VideoReader

    enhancer = _tiny_gpen(tmp_path)
    calls = []

    def build():
        calls.append(1)
        return enhancer

    monkeypatch.setattr(predictor, "build_enhancer", build)
    common = ["--config", tiny_fomm["config"], "--weight_path", tiny_fomm["weights"],
              "--image_size", "64", "--relative", "--engine", "dygraph", "--slice_size", "50",
              "--quiet"]
    assert _run(common + ["--output", str(tmp_path / "plain")], capsys)[0] == 0
    assert _run(common + ["--face_enhancement", "--output", str(tmp_path / "gpen")], capsys)[0] == 0
    assert calls == [1]
    plain = next(iter(VideoReader(str(tmp_path / "plain" / "result.mp4")))).astype(int)
    enhanced = next(iter(VideoReader(str(tmp_path / "gpen" / "result.mp4")))).astype(int)
    assert plain.shape == enhanced.shape and abs(plain - enhanced).mean() > 0.5


def test_blazeface_smooth_and_auto_crop_end_to_end(tmp_path, capsys, tiny_fomm):
    if not (SHARED_BLAZEFACE / "blazeface.pdparams").is_file():
        pytest.skip(f"BlazeFace weights not found at {SHARED_BLAZEFACE} (development data, absent in a "
                    f"user's clone); to run this test, put PaddleGAN's blazeface.pdparams and anchors.npy "
                    f"(https://paddlegan.bj.bcebos.com/models/) in that folder")
    cache = tmp_path / "cache"
    cache.mkdir()
    for name in ("blazeface.pdparams", "anchors.npy"):  # as if downloaded once
        shutil.copy(SHARED_BLAZEFACE / name, cache / name)
    code, lines = _run(["--config", tiny_fomm["config"], "--weight_path", tiny_fomm["weights"],
                        "--image_size", "64", "--relative", "--engine", "dygraph",
                        "--face_detector", "blazeface", "--smooth", "--crop_driving", "auto",
                        "--output", str(tmp_path / "out"), "--quiet"], capsys)
    assert code == 0, lines
    assert os.path.isfile(tmp_path / "out" / "result.mp4")
