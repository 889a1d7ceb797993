"""tools/main.py end to end in subprocesses: help, a 3-iteration run, clear user errors."""
import signal
import subprocess
import sys
from pathlib import Path
from typing import List

import numpy as np
import pytest

from ppgan_app.datasets.mnist import write_idx

REPO = Path(__file__).resolve().parents[2]
MAIN = REPO / "tools" / "main.py"
CONFIG = REPO / "configs" / "dcgan_fashion_mnist.yaml"


def _main(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(MAIN), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=180)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A 24-image Fashion-MNIST-format folder (random pixels)."""
    folder = tmp_path / "fmnist"
    folder.mkdir()
    rng = np.random.RandomState(0)
    for prefix, n in (("train", 24), ("t10k", 8)):
        write_idx(str(folder / f"{prefix}-images-idx3-ubyte"), rng.randint(0, 256, (n, 28, 28)).astype(np.uint8))
        write_idx(str(folder / f"{prefix}-labels-idx1-ubyte"), (np.arange(n) % 10).astype(np.uint8))
    return folder


def _tiny(data: Path, out: Path) -> List[str]:
    return ["-o", f"dataset.train.data_root={data}", f"dataset.test.data_root={data}",
            f"output_dir={out}", "total_iters=3", "model.generator.ngf=4", "model.discriminator.ndf=4",
            "model.num_samples=4", "dataset.train.batch_size=8", "dataset.test.batch_size=8",
            "dataset.test.max_samples=8", "log_config.interval=1", "log_config.visiual_interval=2",
            "snapshot_config.interval=2", "validate.interval=3"]


def _user_error(proc: subprocess.CompletedProcess, text: str, code: int = 2) -> str:
    """The run failed with exit ``code`` and exactly one ``error:`` line containing ``text``."""
    assert proc.returncode == code, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and text in errors[0], proc.stderr[-2000:]
    return errors[0]


def test_help(tmp_path):
    proc = _main("--help", cwd=tmp_path)
    assert proc.returncode == 0
    for flag in ("--config-file", "--opt", "--resume", "--load", "--evaluate-only", "--seed",
                 "--device", "--no-cuda", "--amp", "--dry-run"):
        assert flag in proc.stdout


def test_three_iterations_then_resume(tmp_path, data):
    out = tmp_path / "out"
    proc = _main("-c", str(CONFIG), "--seed", "3", "--amp", *_tiny(data, out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "--amp needs a GPU" in proc.stderr
    assert "iter 3/3 epoch 0 | D_loss" in proc.stderr and "img/s" in proc.stderr
    assert "validation at iteration 3: fpd" in proc.stderr
    (run,) = out.iterdir()
    assert run.name.startswith("dcgan_fashion_mnist-")
    assert proc.stdout.strip() == f"finished at iteration 3; run folder {run}"
    assert (run / "visual" / "iter_0000002_fake_fixed.png").is_file()
    assert "seed: 3" in (run / "config.yaml").read_text()
    ckpt = run / "iter_0000002_checkpoint.pdparams"
    assert ckpt.is_file() and (run / "iter_0000003_checkpoint.pdparams").is_file()
    # --resume without -c reuses the checkpoint's config
    again = _main("--resume", str(ckpt), "-o", "total_iters=4", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "resumed from" in again.stderr and "finished at iteration 4" in again.stdout
    evaluated = _main("-c", str(CONFIG), "--evaluate-only", "--load", str(ckpt), *_tiny(data, out), cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert evaluated.stdout.startswith(f"evaluated {CONFIG}: fpd=")


def _interrupted_training(tmp_path, data, sig):
    """Start a long tiny training run, send ``sig`` once it is under way; return
    ``(output folder, exit code, stdout, stderr)``."""
    out = tmp_path / "out"
    args = _tiny(data, out) + ["total_iters=100000", "validate.interval=0", "log_config.visiual_interval=0",
                               "snapshot_config.interval=0"]
    proc = subprocess.Popen([sys.executable, str(MAIN), "-c", str(CONFIG), *args], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:  # wait until training is under way
        if "iter 2/100000" in line:
            break
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)
    return out, proc.returncode, stdout, stderr


def test_ctrl_c_saves_a_checkpoint_and_exits_130(tmp_path, data):
    out, code, stdout, stderr = _interrupted_training(tmp_path, data, signal.SIGINT)
    assert code == 130, stderr[-3000:]
    assert "Traceback" not in stderr
    (run,) = out.iterdir()
    (ckpt,) = run.glob("iter_*_checkpoint.pdparams")
    assert stdout.strip() == f"interrupted at iteration {int(ckpt.name.split('_')[1])}; run folder {run}"


def test_dry_run_prints_resolved_config(tmp_path, data):
    proc = _main("-c", str(CONFIG), "--dry-run", "-o", "total_iters=7", cwd=tmp_path)
    assert proc.returncode == 0 and "total_iters: 7" in proc.stdout and "visiual_interval: 250" in proc.stdout


def test_missing_dataset_folder(tmp_path):
    proc = _main("-c", str(CONFIG), "-o", f"dataset.train.data_root={tmp_path / 'nowhere'}", cwd=tmp_path)
    _user_error(proc, "data not found")


def test_missing_test_folder_fails_before_training(tmp_path, data):
    out = tmp_path / "out"
    args = _tiny(data, out)
    args[2] = f"dataset.test.data_root={tmp_path / 'nowhere'}"
    _user_error(_main("-c", str(CONFIG), *args, cwd=tmp_path), "data not found")
    assert not list(out.glob("*/*.pdparams"))  # nothing trained, nothing saved


def test_one_data_folder_override_serves_train_and_test(tmp_path, data):
    out = tmp_path / "out"
    args = [a for a in _tiny(data, out) if not a.startswith("dataset.test.data_root=")]
    proc = _main("-c", str(CONFIG), *args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "validation at iteration 3" in proc.stderr


def test_malformed_yaml(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("total_iters: 3\nmodel: {name: DCGANModel\n")
    line = _user_error(_main("-c", str(bad), cwd=tmp_path), "malformed YAML at")
    assert "bad.yaml:3:1" in line


def test_unknown_override_and_missing_config(tmp_path):
    _user_error(_main("-c", str(CONFIG), "-o", "log_config.intervall=3", cwd=tmp_path),
                "unknown config key 'log_config.intervall'")
    _user_error(_main("-c", str(tmp_path / "none.yaml"), cwd=tmp_path), "config file not found")


@pytest.mark.parametrize("override, shown", [
    ("total_iters=abc", "total_iters='abc'"), ("total_iters=-5", "total_iters=-5"),
    ("dataset.train.batch_size=0", "dataset.train.batch_size=0"),
    ("snapshot_config.interval=often", "snapshot_config.interval='often'"), ("seed=abc", "seed='abc'"),
])
def test_bad_config_values_exit_2_and_leave_no_folder(tmp_path, override, shown):
    out = tmp_path / "out"
    line = _user_error(_main("-c", str(CONFIG), "-o", f"output_dir={out}", override, cwd=tmp_path),
                       f"{shown} is not valid: expected")
    assert line.startswith(f"error: {CONFIG}: ")
    assert not out.exists()


@pytest.mark.parametrize("flag, value", [("--seed", "-1"), ("--seed", "abc"), ("--threads", "0")])
def test_bad_seed_and_threads_flags_exit_2(tmp_path, flag, value):
    proc = _main("-c", str(CONFIG), flag, value, cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    line = proc.stderr.splitlines()[-1]  # one line naming the flag, as every tool says it
    assert line.startswith("error: ") and (f"{flag} must be" in line or f"argument {flag}: " in line)


def test_output_dir_that_is_a_file_exits_2_before_building(tmp_path, data):
    (tmp_path / "taken").write_text("x")
    args = _tiny(data, tmp_path / "taken")
    _user_error(_main("-c", str(CONFIG), *args, cwd=tmp_path), "output_dir")


def test_divergence_exits_3_and_names_the_iteration(tmp_path, data):
    out = tmp_path / "out"
    args = _tiny(data, out) + ["lr_scheduler.learning_rate=1e30", "total_iters=6", "snapshot_config.interval=1",
                               "validate.interval=0", "log_config.visiual_interval=0"]
    line = _user_error(_main("-c", str(CONFIG), *args, cwd=tmp_path), "training diverged at iteration 1", code=3)
    assert "Lower the learning rate" in line
    (run,) = out.iterdir()
    assert not list(run.glob("*.pdparams"))  # nothing finite to keep, and nothing non-finite written


def test_resume_from_a_fomm_weights_file_exits_2(tmp_path, data):
    import paddle
    fomm = tmp_path / "vox-cpk.pdparams"
    paddle.save({"generator": {"w": paddle.zeros([2])}, "kp_detector": {"w": paddle.zeros([2])}}, str(fomm))
    out = tmp_path / "out"
    _user_error(_main("--resume", str(fomm), cwd=tmp_path), "is not a trainer checkpoint")
    _user_error(_main("-c", str(CONFIG), "--resume", str(fomm), *_tiny(data, out), cwd=tmp_path),
                "use --load for a file of weights only")
    _user_error(_main("-c", str(CONFIG), "--load", str(fomm), *_tiny(data, out), cwd=tmp_path),
                "none of the checkpoint's weights fit this model")
    assert not out.exists()


def test_sigterm_saves_a_checkpoint_that_resumes_and_exits_143(tmp_path, data):
    out, code, stdout, stderr = _interrupted_training(tmp_path, data, signal.SIGTERM)
    assert code == 143, stderr[-3000:]
    assert "Traceback" not in stderr and "SIGTERM: finishing this iteration" in stderr
    (run,) = out.iterdir()
    (ckpt,) = run.glob("iter_*_checkpoint.pdparams")
    assert not [p for p in run.iterdir() if p.name.startswith(".")]
    stopped = int(ckpt.name.split("_")[1])
    assert stdout.strip() == f"interrupted at iteration {stopped}; run folder {run}"
    again = _main("--resume", str(ckpt), "-o", f"total_iters={stopped + 1}", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"finished at iteration {stopped + 1}" in again.stdout
    assert "will not reproduce" not in again.stderr


def test_model_size_paddle_rejects_is_a_config_error(tmp_path, data):
    out = tmp_path / "out"
    _user_error(_main("-c", str(CONFIG), *_tiny(data, out), "model.generator.nz=-3", cwd=tmp_path),
                "the config's values cannot build the model or data")
    assert not out.exists()


def test_unreadable_image_read_by_loader_workers_exits_2_without_hanging(tmp_path):
    import cv2
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(8):
        cv2.imwrite(str(folder / f"{i}.png"), np.random.RandomState(i).randint(0, 255, (28, 28), np.uint8))
    (folder / "9.png").write_bytes(b"")
    train = (f"{{name: ImageFolderDataset, data_root: {folder}, channels: 1, batch_size: 9, num_workers: 2, "
             f"transforms: [{{name: Resize, size: 32}}, {{name: Normalize}}]}}")
    proc = _main("-c", str(CONFIG), "-o", f"dataset.train={train}", "dataset.test=null", "validate=null",
                 f"output_dir={tmp_path / 'out'}", "model.num_samples=4", cwd=tmp_path)  # timeout: a hang fails
    _user_error(proc, "the file is empty; remove or replace it")
    assert "Exception in thread" not in proc.stderr and not (tmp_path / "out").exists()
