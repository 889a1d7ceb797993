"""tools/export_model.py: checkpoint -> static graphs that the fast engine runs on its own,
giving the frames dygraph gives."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import paddle
import pytest

pytest.importorskip("ppgan_app.inference.paddle_inference")

from ppgan_app.apps.expression_transfer.fomm_animator import build_fomm_animator  # noqa: E402
from ppgan_app.apps.fomm_training.export import export_checkpoint, is_export_dir  # noqa: E402
from ppgan_app.errors import InputError  # noqa: E402
from ppgan_app.inference.paddle_inference import FastEngine  # noqa: E402
from ppgan_app.weights.fomm import load_fomm  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
from kit_checkpoint import tiny_kit_checkpoint  # noqa: E402 - shared by tests/conftest.py


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    ckpt = tiny_kit_checkpoint(folder / "ckpt.pdparams", seed=3)
    return ckpt, export_checkpoint(ckpt, folder / "graphs")


def test_fast_engine_from_export_equals_dygraph(exported):
    ckpt, folder = exported
    assert is_export_dir(folder) and (folder / "config.yaml").is_file()
    kp_detector, generator, *_ = load_fomm(str(ckpt))
    engine = FastEngine.from_export(folder, threads=1)
    rng = np.random.default_rng(0)
    source = rng.uniform(0, 1, (1, 3, 32, 32)).astype("float32")
    driving = rng.uniform(0, 1, (3, 3, 32, 32)).astype("float32")
    with paddle.no_grad():
        kp_s, kp_d = kp_detector(paddle.to_tensor(source)), kp_detector(paddle.to_tensor(driving))
        kp_s3 = {k: paddle.expand(v, [3] + list(v.shape[1:])) for k, v in kp_s.items()}
        want = generator(paddle.expand(paddle.to_tensor(source), [3, 3, 32, 32]),
                         kp_driving=kp_d, kp_source=kp_s3)["prediction"].numpy()
    fast_kp = engine.kp_detector(driving)
    np.testing.assert_allclose(fast_kp["value"].numpy(), kp_d["value"].numpy(), atol=1e-5)
    got = engine.generator(source, engine.kp_detector(source), fast_kp).numpy()
    np.testing.assert_allclose(got, want, atol=1e-4)
    with pytest.raises(ValueError, match="32x32"):
        engine.kp_detector(np.zeros((1, 3, 64, 64), "float32"))


def test_predictor_runs_the_export_folder(exported):
    _, folder = exported
    animator = build_fomm_animator(weight_path=str(folder), engine="fast")
    assert animator.image_size == 32
    with pytest.raises(InputError, match="fast engine"):
        build_fomm_animator(weight_path=str(folder), engine="dygraph")


def test_command_line(exported, tmp_path):
    ckpt, _ = exported
    cmd = [sys.executable, str(REPO / "tools" / "export_model.py"), "--checkpoint", str(ckpt),
           "--output", str(tmp_path / "out")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert is_export_dir(tmp_path / "out")
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 2 and "exists" in again.stderr and "Traceback" not in again.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]          # no temp left behind


@pytest.mark.parametrize("size_in,size_out", [((16, 12), (8, 8)), ((8, 8), (16, 12)), ((5, 7), (5, 7))])
def test_matmul_resize_equals_bilinear_interpolate(size_in, size_out):
    from ppgan_app.inference.fast_ops import resize_bilinear
    x = paddle.rand([2, 3, *size_in])
    want = paddle.nn.functional.interpolate(x, size=size_out, mode="bilinear", align_corners=False)
    np.testing.assert_allclose(resize_bilinear(x, *size_out).numpy(), want.numpy(), atol=1e-5)


@pytest.mark.parametrize("damage,says", [("cut", "generator.pdiparams has"),
                                         ("no meta", "meta.json is missing")])
def test_a_damaged_paddle_export_is_refused(exported, tmp_path, damage, says):
    import shutil

    from ppgan_app.errors import CheckpointError

    _, folder = exported
    damaged = tmp_path / "graphs"
    shutil.copytree(folder, damaged)
    if damage == "cut":
        params = damaged / "generator.pdiparams"
        params.write_bytes(params.read_bytes()[:-8])
    else:
        (damaged / "meta.json").unlink()
    with pytest.raises(CheckpointError, match=says):
        build_fomm_animator(weight_path=str(damaged), engine="fast")
