"""A kit training checkpoint is self-describing: the predictor rebuilds its architecture and
frame size from it alone (no --config, no --image_size)."""
import subprocess
import sys
from pathlib import Path

import numpy as np

from ppgan_app.apps import FirstOrderPredictor
from ppgan_app.apps.expression_transfer.fomm_animator import build_fomm_animator

from kit_checkpoint import TINY_TRAIN, tiny_kit_checkpoint

REPO = Path(__file__).resolve().parents[3]


def test_animator_takes_architecture_and_size_from_the_checkpoint(tmp_path):
    ckpt = tiny_kit_checkpoint(tmp_path / "ckpt.pdparams")
    animator = build_fomm_animator(weight_path=str(ckpt), engine="dygraph")
    assert animator.image_size == 32                       # the config's frame_shape, not 256
    frames = np.random.default_rng(0).uniform(0, 1, (2, 3, 32, 32)).astype("float32")
    kp = animator.keypoints(frames)
    assert tuple(kp["value"].shape) == (2, 4, 2)            # num_kp 4 of the tiny config
    # a config file with a dataset section decides the size too (not the default 256)
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY_TRAIN.read_text())
    weights = tmp_path / "plain.pdparams"
    import paddle
    state = paddle.load(str(ckpt))
    paddle.save({k: state["nets"][k] for k in ("kp_detector", "generator")}, str(weights))
    assert build_fomm_animator(config=str(config), weight_path=str(weights),
                               engine="dygraph").image_size == 32


def test_demo_runs_with_the_checkpoint_alone(tmp_path, media):
    ckpt = tiny_kit_checkpoint(tmp_path / "ckpt.pdparams")
    predictor = FirstOrderPredictor(output=str(tmp_path / "out"), weight_path=str(ckpt),
                                    relative=True, engine="dygraph", progress=False)
    summary = predictor.run_with_summary(media["portrait"], media["clip_audio"])
    assert predictor.animator.image_size == 32 and summary.frames == 12
    proc = subprocess.run(
        [sys.executable, str(REPO / "applications" / "tools" / "first-order-demo.py"),
         "--weight_path", str(ckpt), "--source_image", media["portrait"], "--driving_video",
         media["clip_audio"], "--output", str(tmp_path / "cli"), "--engine", "dygraph",
         "--relative", "--quiet"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "cli" / "result.mp4").is_file()
