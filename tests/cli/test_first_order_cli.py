"""first-order-demo.py: PaddleGAN's flags map to predictor arguments; bad input exits 2;
end to end on the bundled sample with a tiny random-weight model."""
import os
import subprocess
import sys

import pytest

from ppgan_app.apps import FirstOrderPredictor
from ppgan_app.cli.first_order import build_parser, main, predictor_kwargs

# the flags of PaddleGAN's first-order-demo.py (REFERENCE.md §1)
PADDLEGAN_FLAGS = ["--config", "--weight_path", "--source_image", "--driving_video", "--output",
                   "--filename", "--relative", "--adapt_scale", "--find_best_frame",
                   "--best_frame", "--cpu", "--ratio", "--face_detector", "--multi_person",
                   "--image_size", "--batch_size", "--face_enhancement", "--mobile_net",
                   "--slice_size"]


def test_every_paddlegan_flag_exists():
    options = {s for a in build_parser()._actions for s in a.option_strings}
    assert set(PADDLEGAN_FLAGS) <= options
    assert {"--device", "--engine", "--audio", "--no-audio", "--crop_driving",
            "--no_face_ok"} <= options


def test_flags_map_to_predictor_arguments():
    args = build_parser().parse_args([
        "--config", "c.yaml", "--weight_path", "w.pdparams", "--source_image", "s.jpg",
        "--driving_video", "d.mp4", "--output", "out", "--filename", "x.mp4", "--relative",
        "--adapt_scale", "--find_best_frame", "--best_frame", "3", "--cpu", "--ratio", "0.45",
        "--face_detector", "yunet", "--multi_person", "--image_size", "512", "--batch_size", "4",
        "--mobile_net", "--slice_size", "8", "--engine", "dygraph", "--no-audio",
        "--crop_driving", "on", "--smooth", "--no_face_ok"])
    assert predictor_kwargs(args) == {
        "config": "c.yaml", "weight_path": "w.pdparams", "output": "out", "filename": "x.mp4",
        "relative": True, "adapt_scale": True, "find_best_frame": True, "best_frame": 3,
        "device": "cpu", "ratio": 0.45, "face_detector": "yunet", "multi_person": True,
        "image_size": 512, "batch_size": 4, "mobile_net": True, "slice_size": 8,
        "engine": "dygraph", "audio": False, "crop_driving": "on", "smooth": True,
        "no_face_ok": True}
    assert (args.source_image, args.driving_video) == (["s.jpg"], "d.mp4")


def test_unset_flags_fall_through_to_the_library_defaults():
    assert predictor_kwargs(build_parser().parse_args([])) == {}
    pred = FirstOrderPredictor()
    assert (pred.ratio, pred.output, pred.filename, pred.face_detector, pred.audio,
            pred.batch_size, pred.image_size, pred.crop_driving, pred.smooth) == (
                0.4, "output", "result.mp4", "yunet", True, 1, None, "auto", False)  # None: ckpt size
    assert predictor_kwargs(build_parser().parse_args(["--audio", "--quiet"])) == {
        "audio": True, "progress": False}


def _run(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("case", ["missing_source", "not_a_video", "no_face", "unwritable",
                                  "missing_weights", "face_enhancement", "cpu_vs_gpu"])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, case):
    from PIL import Image

    flat = tmp_path / "flat.png"
    Image.fromarray(__import__("numpy").full((64, 64, 3), 90, "uint8")).save(flat)
    text = tmp_path / "text.mp4"
    text.write_text("no video here")
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    out = tmp_path / "out"
    argv = {"missing_source": ["--source_image", str(tmp_path / "none.jpg")],
            "not_a_video": ["--driving_video", str(text)],
            "no_face": ["--source_image", str(flat)],
            "unwritable": [],
            "missing_weights": ["--weight_path", str(tmp_path / "none.pdparams")],
            "face_enhancement": ["--face_enhancement"],
            "cpu_vs_gpu": ["--cpu", "--device", "gpu"]}[case]
    if case == "unwritable":
        out = blocker / "out"
    code, stdout, stderr = _run(argv + ["--output", str(out), "--quiet"], capsys)
    assert code == 2
    lines = [ln for ln in stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, stderr
    assert not os.path.exists(out / "result.mp4")


def test_end_to_end_on_the_bundled_sample(tmp_path, capsys, tiny_fomm, ffprobe):
    code, stdout, stderr = _run(["--config", tiny_fomm["config"], "--weight_path",
                                 tiny_fomm["weights"], "--image_size", "64", "--relative",
                                 "--adapt_scale", "--engine", "dygraph", "--batch_size", "4",
                                 "--output", str(tmp_path), "--quiet"], capsys)
    assert code == 0, stderr
    path = os.path.join(str(tmp_path), "result.mp4")
    assert stdout.strip().startswith(f"wrote {path}: 100 frames at 25 fps in ")
    assert ffprobe(path) == {"codec": "h264", "fps": 25.0, "audio": True}


def test_the_demo_script_is_a_thin_front_end():
    script = os.path.join(os.path.dirname(__file__), "..", "..", "applications", "tools",
                          "first-order-demo.py")
    proc = subprocess.run([sys.executable, script, "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "--driving_video" in proc.stdout
