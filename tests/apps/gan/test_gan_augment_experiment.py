"""The augmentation experiment end to end on a seconds-long budget (configs/augmentation_tiny.yaml):
two classes of a small image folder, a 3-iteration GAN, tiny classifiers."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from ppgan_app.apps.gan.classifier import FitOptions, MixOptions, fit_mixed
from ppgan_app.apps.gan.augment import select_by_fidelity
from ppgan_app.cli.augmentation_experiment import main

CONFIG = "configs/augmentation_tiny.yaml"


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    """Two classes of 10 8x8 images each: a vertical bar ("bar") and a square ("box")."""
    root = tmp_path_factory.mktemp("tiny_images")
    rng = np.random.default_rng(0)
    for name in ("bar", "box"):
        (root / name).mkdir()
        for i in range(10):
            img = (rng.random((8, 8)) * 60).astype(np.uint8)
            if name == "bar":
                img[:, 3:5] += 150
            else:
                img[2:6, 2:6] += 150
            cv2.imwrite(str(root / name / f"{i}.png"), img)
    return root


@pytest.fixture(scope="module")
def first_run(images, tmp_path_factory):
    out = tmp_path_factory.mktemp("experiment") / "out"
    argv = ["-c", CONFIG, "-o", f"dataset.dataroot={images}", f"output_dir={out}", "--quiet"]
    return argv, out, main(argv)


def test_the_run_writes_the_table_and_json(first_run, capsys):
    _, out, code = first_run
    assert code == 0
    result = json.loads((out / "results.json").read_text())
    assert set(result["table"]) == {"3", "6"}
    for row in result["table"].values():
        for arm in ("real", "real+shift", "real+GAN"):
            assert row[arm]["n"] == 2 and 0.0 <= row[arm]["mean"] <= 1.0
        assert row["verdict"]["best_gan"] == "real+GAN"
    assert len(result["cells"]) == 2 * 2 * 3
    md = (out / "results.md").read_text()
    assert "| real per class | real | real+shift | real+GAN |" in md
    assert md.count("\n| 3 |") == 1 and md.count("\n| 6 |") == 1


def test_generated_sets_carry_a_manifest_and_the_image_folder_layout(first_run):
    _, out, _ = first_run
    folders = sorted((out / "generated" / "3pc").iterdir())
    assert [f.name.split("-")[0] for f in folders] == ["seed0", "seed1"]
    for folder in folders:
        manifest = json.loads((folder / "manifest.json").read_text())
        assert Path(manifest["checkpoint"]).is_file()
        assert manifest["filter"] == "classifier" and manifest["filter_arm"] == "real"
        assert manifest["seed"] == int(folder.name[4])
        pngs = sorted(folder.glob("*/gen_*.png"))
        assert len(pngs) == sum(manifest["kept_per_class"]) == manifest["images"]
        assert all(p.parent.name in ("0", "1") for p in pngs)
        assert set(manifest["confidence"]) == {f"{p.parent.name}/{p.name}" for p in pngs}


def test_a_second_run_reuses_every_cell_and_recomputes_a_deleted_one(first_run, capsys):
    argv, out, _ = first_run
    capsys.readouterr()
    before = json.loads((out / "results.json").read_text())["table"]
    assert main(argv) == 0
    assert "0 cell(s) computed, 12 reused" in capsys.readouterr().out
    cell = sorted((out / "cells" / "6pc" / "seed1").glob("*.json"))[0]
    cell.unlink()
    assert main(argv + ["--report"]) == 0  # gathers what is done, computes nothing
    report = capsys.readouterr().out
    assert "0 cell(s) computed, 11 reused, 1 not done" in report and "| 6 |" in report and "(1)" in report
    assert main(argv) == 0
    assert "1 cell(s) computed, 11 reused, 0 not done" in capsys.readouterr().out
    assert json.loads((out / "results.json").read_text())["table"] == before  # deterministic per seed


@pytest.mark.parametrize("override, key", [("classifier.epochs=0", "classifier.epochs"),
                                           ("arms.2.schedule=sometimes", "arms[2].schedule"),
                                           ("generate.filter_arm=real+GAN", "generate.filter_arm"),
                                           ("gan.colour=red", "gan")])
def test_a_bad_config_value_is_one_line_and_exit_2(images, tmp_path, capsys, override, key):
    out = tmp_path / "out"
    code = main(["-c", CONFIG, "-o", f"dataset.dataroot={images}", f"output_dir={out}", override, "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and key in err[0] and err[0].startswith("error:")
    assert not out.exists()  # caught before any work


def test_a_missing_image_folder_is_an_input_error(tmp_path, capsys):
    code = main(["-c", CONFIG, "-o", f"dataset.dataroot={tmp_path / 'nope'}", f"output_dir={tmp_path / 'o'}"])
    assert code == 2 and "does not exist" in capsys.readouterr().err


def test_fidelity_filter_keeps_agreeing_images_most_confident_first():
    probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.7, 0.3], [0.45, 0.55]])
    labels = np.array([0, 0, 0, 1, 1])
    assert select_by_fidelity(probs, labels, per_class=1).tolist() == [0, 4]
    assert select_by_fidelity(probs, labels, per_class=5).tolist() == [0, 1, 4]
    assert select_by_fidelity(probs, labels, per_class=5, min_confidence=0.7).tolist() == [0]


def test_mixed_training_takes_the_same_real_passes_with_or_without_generated_images(monkeypatch):
    import ppgan_app.apps.gan.classifier as classifier

    seen = []

    def counting(net, steps, lr, batch, augment, rng):  # records the batch sizes instead of training
        seen.append([batch(s)[0].shape[0] for s in range(steps)])

    monkeypatch.setattr(classifier, "_run_steps", counting)
    x, y = np.zeros((10, 1, 8, 8), np.float32), np.arange(10) % 2
    gx, gy = np.ones((6, 1, 8, 8), np.float32), np.arange(6) % 2
    opts = FitOptions(epochs=2, batch_size=4, min_steps=0)
    fit_mixed(x, y, gx, gy, None, 2, opts, MixOptions(share=0.0), width=2, feature_dim=4, img_size=8)
    fit_mixed(x, y, gx, gy, None, 2, opts, MixOptions(share=0.5, schedule="real_tail", tail=0.5),
              width=2, feature_dim=4, img_size=8)
    fit_mixed(x, y, gx, gy, None, 2, opts, MixOptions(share=0.5, schedule="pretrain"),
              width=2, feature_dim=4, img_size=8)
    assert seen[0] == [4, 4, 2] * 2                  # two passes over 10 real images
    assert seen[1] == [8, 6, 6, 4, 4, 2]             # same real batches; generated ones (passes of 6) in the first half
    assert seen[2] == [6] and seen[3] == seen[0]     # one pass over the 6 generated images, then the real passes
