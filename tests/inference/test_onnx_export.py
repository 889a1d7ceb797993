"""ONNX export (``tools/export_model.py --format onnx``): the graphs run by OpenVINO and ONNX
Runtime give Paddle's fp32 frames; a damaged export folder is one line and exit 2; a
``--config`` that contradicts the folder is refused; PaddleGAN's export flags work."""
import json
from pathlib import Path

import numpy as np
import paddle
import pytest
import yaml

pytestmark = pytest.mark.openvino  # ordered last: see tests/conftest.py

pytest.importorskip("paddle2onnx")
pytest.importorskip("openvino")

from ppgan_app.apps.expression_transfer.fomm_animator import build_fomm_animator  # noqa: E402
from ppgan_app.apps.expression_transfer.predictor import sample_paths  # noqa: E402
from ppgan_app.apps.fomm_training.export import export_checkpoint  # noqa: E402
from ppgan_app.cli import export_model, first_order  # noqa: E402
from ppgan_app.errors import CheckpointError, ConfigError, InputError  # noqa: E402
from ppgan_app.inference.export import META_FILE, verify_export  # noqa: E402
from ppgan_app.inference.openvino_engine import OpenVinoEngine  # noqa: E402
from ppgan_app.models.firstorder import build_fomm_networks  # noqa: E402
from ppgan_app.weights.fomm import load_fomm_checkpoint  # noqa: E402
from ppgan_app.models.firstorder.checkpoint import checkpoint_config  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
from kit_checkpoint import tiny_kit_checkpoint  # noqa: E402 - shared by tests/conftest.py


@pytest.fixture(scope="module")
def onnx_export(tmp_path_factory):
    folder = tmp_path_factory.mktemp("onnx")
    ckpt = tiny_kit_checkpoint(folder / "ckpt.pdparams", seed=5)
    return ckpt, export_checkpoint(ckpt, folder / "graphs", fmt="onnx")


def _dygraph_frames(ckpt, source, driving):
    kp_detector, generator = build_fomm_networks(checkpoint_config(paddle.load(str(ckpt))))
    load_fomm_checkpoint(str(ckpt), kp_detector, generator)
    with paddle.no_grad():
        kp_s = kp_detector(paddle.to_tensor(source))
        kp_d = kp_detector(paddle.to_tensor(driving))
        n = driving.shape[0]
        kp_sn = {k: paddle.expand(v, [n] + list(v.shape[1:])) for k, v in kp_s.items()}
        prediction = generator(paddle.expand(paddle.to_tensor(source), list(driving.shape)),
                               kp_driving=kp_d, kp_source=kp_sn)["prediction"]
    return kp_d, prediction.numpy()


def _inputs(n=3, size=32):
    rng = np.random.default_rng(1)
    return (rng.uniform(0, 1, (1, 3, size, size)).astype("float32"),
            rng.uniform(0, 1, (n, 3, size, size)).astype("float32"))


def test_openvino_runs_the_onnx_export_as_paddle_fp32(onnx_export):
    ckpt, folder = onnx_export
    info = verify_export(folder)
    assert info.format == "onnx"
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.yaml", "generator.onnx", "kp_detector.onnx", META_FILE, "source_encoder.onnx"]
    source, driving = _inputs()
    kp_d, want = _dygraph_frames(ckpt, source, driving)
    engine = OpenVinoEngine.from_export(folder, threads=1)
    kp = engine.kp_detector(driving)
    np.testing.assert_allclose(kp["value"].numpy(), kp_d["value"].numpy(), atol=1e-5)
    got = engine.generator(source, engine.kp_detector(source), kp).numpy()
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_onnxruntime_runs_the_same_graphs(onnx_export):
    ort = pytest.importorskip("onnxruntime")
    ckpt, folder = onnx_export
    source, driving = _inputs(n=1)
    kp_d, want = _dygraph_frames(ckpt, source, driving)
    options = ort.SessionOptions()
    options.log_severity_level = 3

    def run(name, **feeds):
        session = ort.InferenceSession(str(folder / f"{name}.onnx"), options,
                                       providers=["CPUExecutionProvider"])
        return session.run(None, feeds)

    kp_s = run("kp_detector", images=source)
    kp_dr = run("kp_detector", images=driving)
    np.testing.assert_allclose(kp_dr[0], kp_d["value"].numpy(), atol=1e-5)
    (features,) = run("source_encoder", source=source)
    (got,) = run("generator", source=source, features=features, kp_source_value=kp_s[0],
                 kp_source_jacobian=kp_s[1], kp_driving_value=kp_dr[0],
                 kp_driving_jacobian=kp_dr[1])
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_the_demo_runs_an_onnx_folder_with_openvino_only(onnx_export):
    _, folder = onnx_export
    animator = build_fomm_animator(weight_path=str(folder))       # engine auto
    assert animator.engine.name == "openvino" and animator.image_size == 32
    with pytest.raises(InputError, match="holds onnx graphs, which the openvino engine runs"):
        build_fomm_animator(weight_path=str(folder), engine="fast")


def _damage(folder: Path, how: str) -> None:
    target = folder / "generator.onnx"
    if how == "missing file":
        target.unlink()
    elif how == "cut file":
        data = target.read_bytes()
        target.write_bytes(data[: len(data) // 2])
    elif how == "edited file":
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0xFF
        target.write_bytes(bytes(data))
    elif how == "broken meta":
        meta = folder / META_FILE
        meta.write_text(meta.read_text()[:40])
    elif how == "meta without file list":
        meta = json.loads((folder / META_FILE).read_text())
        del meta["files"]
        (folder / META_FILE).write_text(json.dumps(meta))


DAMAGE = {"missing file": "generator.onnx is missing", "cut file": "generator.onnx has",
          "edited file": "generator.onnx was changed", "broken meta": "meta.json is damaged",
          "meta without file list": "no file list"}


@pytest.mark.parametrize("how", sorted(DAMAGE))
def test_a_damaged_export_is_refused(onnx_export, tmp_path, how):
    import shutil

    _, folder = onnx_export
    damaged = tmp_path / "graphs"
    shutil.copytree(folder, damaged)
    _damage(damaged, how)
    with pytest.raises(CheckpointError, match=DAMAGE[how]):
        build_fomm_animator(weight_path=str(damaged))


def test_a_damaged_export_is_one_line_and_exit_2(onnx_export, tmp_path, capsys):
    import shutil

    _, folder = onnx_export
    damaged = tmp_path / "graphs"
    shutil.copytree(folder, damaged)
    _damage(damaged, "edited file")
    source, driving = sample_paths()
    code = first_order.main(["--source_image", source, "--driving_video", driving,
                             "--weight_path", str(damaged), "--output", str(tmp_path / "out")])
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]
    assert code == 2 and len(err) == 1 and "generator.onnx was changed" in err[0], err
    assert not (tmp_path / "out" / "result.mp4").exists()


def test_a_config_contradicting_the_export_is_refused(onnx_export, tmp_path):
    ckpt, folder = onnx_export
    own = checkpoint_config(paddle.load(str(ckpt)))
    build_fomm_animator(weight_path=str(folder), config=own)          # its own: accepted
    other = yaml.safe_load(yaml.safe_dump(own))
    other["model"]["common_params"]["num_kp"] += 1
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(other))
    with pytest.raises(ConfigError, match="does not match the architecture exported"):
        build_fomm_animator(weight_path=str(folder), config=str(path))


def test_paddlegan_export_flags(onnx_export, tmp_path, capfd):
    """(capfd: Paddle's C++ warning is written to file descriptor 2, not to sys.stderr.)"""
    ckpt, _ = onnx_export
    config = tmp_path / "fomm.yaml"
    config.write_text(yaml.safe_dump(checkpoint_config(paddle.load(str(ckpt)))))
    out = tmp_path / "inference_model"
    code = export_model.main(["-c", str(config), "--load", str(ckpt), "--inputs_size",
                              "1,3,64,64;1,3,64,64;1,4,2;1,4,2,2", "--output_dir", str(out)])
    err = capfd.readouterr().err
    assert code == 0, err
    info = verify_export(out)
    assert info.image_size == (64, 64) and info.format == "paddle"
    assert "exported 64x64 FOMM graphs" in err                # other lines pass through
    assert "not support input out tensor" not in err and "Traceback" not in err
    code = export_model.main(["-c", str(config), "--load", str(ckpt), "-s", "1,3,64",
                              "--output_dir", str(tmp_path / "x")])
    assert code == 2 and "--inputs_size" in capfd.readouterr().err
