"""Generation tools: grid, interpolation, truncation, determinism, the labelled augmentation writer,
and the reliability cases of tools/generate.py (disk full, bad seed, read-only output, bad grid path)."""
import errno
import logging
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from ppgan_app.apps.gan import sampler as gan_sampler
from ppgan_app.apps.gan.augment import read_manifest, write_augmented_dataset
from ppgan_app.cli.generate import main as generate_main
from ppgan_app.datasets.image_folder import ImageFolderDataset
from ppgan_app.errors import InputError, OutputError
from ppgan_app.utils.logger import TqdmHandler
from test_gan_sampler import N_CLASS, cond_ckpt, uncond_ckpt  # noqa: F401 - fixtures


@pytest.fixture(autouse=True)
def console_logger_per_test():
    """The CLI's console handler binds the stderr of its test; drop it around each test."""
    def drop():
        log = logging.getLogger("ppgan_app")
        for handler in [h for h in log.handlers if isinstance(h, TqdmHandler)]:
            log.removeHandler(handler)
    drop()
    yield
    drop()


def leftovers(folder: Path) -> list:
    """Everything under ``folder`` (hidden temp files and folders included)."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def error_lines(capsys) -> list:
    """The ``error:`` lines of stderr (log lines aside); there must be no traceback."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return [line for line in err.splitlines() if line.startswith(("error", "internal error"))]


def fail_on_call(n: int, error: BaseException):
    """A ``write_bytes`` that writes ``n - 1`` files, then raises ``error``."""
    calls = {"n": 0}
    real = gan_sampler.write_bytes

    def write(path, data):
        calls["n"] += 1
        if calls["n"] >= n:
            raise error
        real(path, data)
    return write


# --- arrays, grids, strips -------------------------------------------------------------------
def test_generate_array_shapes_range_and_determinism(cond_ckpt):  # noqa: F811
    model = gan_sampler.load_generator_model(cond_ckpt)
    labels = np.arange(7) % N_CLASS
    a = gan_sampler.generate_array(model, 7, seed=2, labels=labels)
    b = gan_sampler.generate_array(model, 7, seed=2, labels=labels)
    c = gan_sampler.generate_array(model, 7, seed=3, labels=labels)
    assert a.shape == (7, 1, 32, 32) and a.dtype == np.float32 and -1 <= a.min() <= a.max() <= 1
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    with pytest.raises(InputError, match="needs labels"):
        gan_sampler.generate_array(model, 2)


def test_truncation_bounds_the_noise():
    z = gan_sampler.sample_latents(200, 16, seed=0, truncation=0.5)
    assert np.abs(z).max() <= 0.5 and z.std() < 0.4
    np.testing.assert_array_equal(z, gan_sampler.sample_latents(200, 16, seed=0, truncation=0.5))


def test_interpolation_rows_start_and_end_at_random_latents():
    z = gan_sampler.interpolation_latents(rows=3, steps=5, nz=8, seed=1)
    ends = gan_sampler.sample_latents(6, 8, seed=1)
    assert z.shape == (15, 8)
    np.testing.assert_allclose(z[0], ends[0], atol=1e-5)
    np.testing.assert_allclose(z[4], ends[1], atol=1e-5)
    np.testing.assert_allclose(z[10], ends[4], atol=1e-5)


def test_grid_and_strip_files(cond_ckpt, uncond_ckpt, tmp_path):  # noqa: F811
    grid = gan_sampler.sample_grid(cond_ckpt, tmp_path / "grid.png", num=4)
    assert cv2.imread(str(grid), cv2.IMREAD_UNCHANGED).shape == (N_CLASS * 34 + 2, 4 * 34 + 2)
    strip = gan_sampler.interpolation_strip(uncond_ckpt, tmp_path / "strip.png", rows=2, steps=6)
    assert cv2.imread(str(strip), cv2.IMREAD_UNCHANGED).shape == (2 * 34 + 2, 6 * 34 + 2)
    with pytest.raises(InputError, match="steps"):
        gan_sampler.interpolation_strip(uncond_ckpt, tmp_path / "s2.png", steps=1)
    assert leftovers(tmp_path) == ["grid.png", "strip.png"]


# --- labelled augmentation writer --------------------------------------------------------------
def test_augmentation_writes_labelled_files_and_merges_real_ones(cond_ckpt, tmp_path):  # noqa: F811
    real_x = np.random.default_rng(0).uniform(-1, 1, (7, 1, 28, 28)).astype(np.float32)
    real_y = np.array([0, 0, 1, 2, 2, 2, 1])
    summary = write_augmented_dataset(cond_ckpt, tmp_path / "aug", per_class=4, real_images=real_x,
                                      real_labels=real_y, seed=1)
    assert summary.generated == {0: 4, 1: 4, 2: 4} and summary.real == {0: 2, 1: 2, 2: 3}
    files = leftovers(tmp_path / "aug")
    assert [f for f in files if f.startswith("2/")] == (
        ["2/gen_0.png", "2/gen_1.png", "2/gen_2.png", "2/gen_3.png", "2/real_0.png", "2/real_1.png", "2/real_2.png"])
    dataset = ImageFolderDataset(str(tmp_path / "aug"), channels=1)
    assert len(dataset) == 12 + 7
    labels = [int(dataset[i]["class_id"]) for i in range(len(dataset))]
    assert np.bincount(labels).tolist() == [6, 6, 7]
    manifest = read_manifest(tmp_path / "aug")  # which GAN, seed and filter made the set
    assert (Path(manifest["checkpoint"]), manifest["seed"], manifest["filter"]) == (Path(cond_ckpt).resolve(), 1, "none")
    assert all(dataset[i]["img"].shape == (1, 32, 32) for i in range(len(dataset)))  # reals resized to G's size
    only_gen = write_augmented_dataset(cond_ckpt, tmp_path / "gen", per_class=2, labels=[1], seed=1)
    assert only_gen.generated == {1: 2} and only_gen.real == {}


def test_augmentation_errors(cond_ckpt, uncond_ckpt, tmp_path):  # noqa: F811
    with pytest.raises(InputError, match="unconditional"):
        write_augmented_dataset(uncond_ckpt, tmp_path / "a", per_class=2)
    with pytest.raises(InputError, match="outside the model's classes"):
        write_augmented_dataset(cond_ckpt, tmp_path / "b", per_class=1,
                                real_images=np.zeros((1, 1, 28, 28), np.float32), real_labels=np.array([5]))
    with pytest.raises(InputError, match="nothing to write"):
        write_augmented_dataset(cond_ckpt, tmp_path / "c", per_class=0)
    assert leftovers(tmp_path) == []


# --- reliability: the tools/generate.py cases of issue 7 --------------------------------------
def test_disk_full_is_one_line_exit_1_and_leaves_nothing(cond_ckpt, tmp_path, monkeypatch, capsys):  # noqa: F811
    monkeypatch.setattr(gan_sampler, "write_bytes", fail_on_call(3, OSError(errno.ENOSPC, "No space left")))
    out = tmp_path / "gen"
    code = generate_main(["--checkpoint", str(cond_ckpt), "--num", "4", "--output", str(out),
                          "--grid", str(tmp_path / "grid.png")])
    err = error_lines(capsys)
    assert code == 1 and err == [f"error: no space left on device at {out}; free some space and run again"]
    assert leftovers(tmp_path) == []  # no folder, no 0-byte PNG, no temp folder, no grid
    with pytest.raises(OutputError, match="no space left on device"):
        gan_sampler.generate_samples(cond_ckpt, out, num=2)


def test_interrupt_mid_write_leaves_nothing_and_keeps_earlier_output(cond_ckpt, tmp_path, monkeypatch):  # noqa: F811
    out = tmp_path / "gen"
    gan_sampler.generate_samples(cond_ckpt, out, num=2, seed=0)
    before = {p: p.read_bytes() for p in out.rglob("*.png")}
    monkeypatch.setattr(gan_sampler, "write_bytes", fail_on_call(2, KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        gan_sampler.generate_samples(cond_ckpt, out, num=2, seed=9, overwrite=True)
    assert {p: p.read_bytes() for p in out.rglob("*.png")} == before
    assert [p for p in leftovers(tmp_path) if not p.startswith("gen")] == []


@pytest.mark.parametrize("args, message", [
    (["--seed", "-1"], "--seed must be in 0.."),
    (["--grid", "GRID"], "needs an image extension"),
    (["--num", "0"], "--num and --batch_size must be >= 1"),
    (["--truncation", "0"], "--truncation must be a positive number"),
])
def test_bad_options_fail_before_any_work(cond_ckpt, tmp_path, capsys, args, message):  # noqa: F811
    args = [a.replace("GRID", str(tmp_path / "grid")) for a in args]
    argv = ["--checkpoint", str(cond_ckpt), "--num", "2", "--output", str(tmp_path / "gen")] + args
    assert generate_main(argv) == 2
    err = error_lines(capsys)
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]
    assert leftovers(tmp_path) == []


def test_read_only_output_fails_before_any_work(cond_ckpt, tmp_path, monkeypatch, capsys):  # noqa: F811
    from ppgan_app.utils import safe_files
    locked = tmp_path / "locked"
    locked.mkdir()
    if os.geteuid() != 0:  # a real read-only folder (root ignores permissions)
        locked.chmod(0o555)
    else:
        def read_only_open(path, *args, **kwargs):
            if Path(path).parent == locked:
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return open(path, *args, **kwargs)
        monkeypatch.setattr(safe_files, "open", read_only_open, raising=False)
    try:
        code = generate_main(["--checkpoint", str(cond_ckpt), "--num", "2", "--output", str(locked / "gen")])
    finally:
        locked.chmod(0o755)
    err = error_lines(capsys)
    assert code == 2 and len(err) == 1 and "cannot write to folder" in err[0] and str(locked) in err[0]
    assert leftovers(locked) == []


def test_cli_commands(cond_ckpt, tmp_path, capsys):  # noqa: F811
    assert generate_main(["grid", "--checkpoint", str(cond_ckpt), "--output", str(tmp_path / "g.png")]) == 0
    assert generate_main(["interpolate", "--checkpoint", str(cond_ckpt), "--output", str(tmp_path / "s.png"),
                          "--rows", "2", "--steps", "3", "--label", "1", "--truncation", "1.5"]) == 0
    assert generate_main(["augment", "--checkpoint", str(cond_ckpt), "--output", str(tmp_path / "aug"),
                          "--per_class", "2"]) == 0
    out = capsys.readouterr().out
    assert "wrote grid" in out and "interpolation" in out and "wrote 6 generated and 0 real" in out
    assert generate_main(["interpolate", "--checkpoint", str(cond_ckpt), "--output", str(tmp_path / "x.png"),
                          "--label", "7"]) == 2
