"""ppgan-super-resolution and tools/evaluate_sr.py: results, flags, one-line errors, exit codes."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from ppgan_app.cli import evaluate_sr, super_resolution

ROOT = Path(__file__).resolve().parents[2]


def _checkpoint(run: Path) -> str:
    return str(next(run.glob("iter_0000004_checkpoint.pdparams")))


def test_upscales_a_picture(tiny_sr_run, sr_pictures, tmp_path, capsys):
    out = tmp_path / "deep" / "astronaut_x4.png"
    code = super_resolution.main(["--input", str(sr_pictures / "astronaut.png"), "--output", str(out),
                                  "--weight_path", _checkpoint(tiny_sr_run), "--tile", "16", "--threads", "1"])
    assert code == 0
    assert cv2.imread(str(out)).shape == (96 * 4, 112 * 4, 3)
    assert capsys.readouterr().out.strip() == str(out)


@pytest.mark.parametrize("extra, match", [
    (["--tile", "-1"], "--tile"),
    (["--tile", "8"], "at least 16"),
    (["--output", "x.mp4"], "picture"),
    (["--weight_path", "missing.pdparams"], "not found"),
])
def test_bad_options_exit_2_with_one_line(sr_pictures, tmp_path, capsys, monkeypatch, extra, match):
    monkeypatch.chdir(tmp_path)
    code = super_resolution.main(["--input", str(sr_pictures / "coffee.png"), *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error:") and match in err and "\n" not in err
    assert not any(tmp_path.iterdir())  # checked before any work or folder


def test_missing_input_and_wrong_weights(tmp_path, capsys, sr_pictures):
    assert super_resolution.main(["--input", str(tmp_path / "none.png")]) == 2
    bad = tmp_path / "bad.pdparams"
    bad.write_bytes(b"not a weight file")
    code = super_resolution.main(["--input", str(sr_pictures / "coffee.png"), "--weight_path", str(bad),
                                  "--output", str(tmp_path / "o.png")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and "cannot read" in err[-1] and not (tmp_path / "o.png").exists()


def test_evaluate_sr_prints_and_writes_the_table(tiny_sr_run, sr_pictures, tmp_path, capsys):
    report = tmp_path / "sr.json"
    code = evaluate_sr.main(["--pictures", str(sr_pictures), "--weight_path", _checkpoint(tiny_sr_run),
                             "--speed_side", "32", "--json", str(report), "--threads", "1", "--crop", "64",
                             "--comparison", str(tmp_path / "cmp.png"), "--comparison_picture", "coffee.png"])
    out = capsys.readouterr().out
    assert code == 0 and "bicubic" in out and "model" in out and "32x32 -> 128x128 frame, wall (CPU)" in out
    strip = cv2.imread(str(tmp_path / "cmp.png"))
    assert strip.shape == (2 * 96 + 24, 4 * (2 * 96 + 4), 3)  # nearest, bicubic, model, original
    data = json.loads(report.read_text())
    assert set(data["means"]) == {"nearest", "bicubic", "model"} and len(data["per_picture"]["model"]["psnr_y"]) == 4


def test_front_ends_show_help():
    for script in ("applications/tools/super_resolution.py", "tools/evaluate_sr.py"):
        done = subprocess.run([sys.executable, script, "--help"], cwd=ROOT, capture_output=True, text=True,
                              env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
        assert done.returncode == 0 and ("--input" in done.stdout or "--pictures" in done.stdout)
