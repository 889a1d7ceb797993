"""first-order-demo.py under faults: every case ends in one line, the documented exit code, no
partial result and no temp file, and an earlier good result survives."""
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ppgan_app.media import video as video_io
from ppgan_app.cli.first_order import main

GOOD = b"an earlier good result"
REAL_FFMPEG = video_io.ffmpeg_exe()


def _tiny_args(tiny_fomm, out, *extra):
    return ["--config", tiny_fomm["config"], "--weight_path", tiny_fomm["weights"],
            "--image_size", "64", "--engine", "dygraph", "--output", str(out), "--quiet", *extra]


def _run(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    errors = [ln for ln in captured.err.splitlines() if ln.startswith("error:")]
    assert "Traceback" not in captured.err
    return code, errors


def _only_good_result_left(folder: Path) -> None:
    assert sorted(os.listdir(folder)) == ["result.mp4"], os.listdir(folder)
    assert (folder / "result.mp4").read_bytes() == GOOD


@pytest.fixture
def out_with_good_result(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "result.mp4").write_bytes(GOOD)
    return out


def _fake_ffmpeg(tmp_path, fail_when: str) -> str:
    """An ffmpeg that fails like a full disk when its arguments contain ``fail_when``
    (reading some input first, as a real encoder does) and runs the real one otherwise."""
    real = REAL_FFMPEG
    script = tmp_path / "ffmpeg"
    script.write_text(f"""#!/bin/sh
case "$*" in
  *{fail_when}*) head -c 20000 > /dev/null
         echo "[out#0/mp4] Error writing trailer: No space left on device" >&2; exit 1;;
esac
exec {real} "$@"
""")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


@pytest.mark.parametrize("stage,audio", [("libx264", False), ("libx264", True), ("aac", True)])
def test_disk_full_names_the_cause_and_keeps_the_earlier_result(
        tiny_fomm, out_with_good_result, tmp_path, monkeypatch, capsys, stage, audio):
    fake = _fake_ffmpeg(tmp_path, stage)
    monkeypatch.setattr(video_io, "ffmpeg_exe", lambda: fake)
    extra = [] if audio else ["--no-audio"]
    code, errors = _run(_tiny_args(tiny_fomm, out_with_good_result, *extra), capsys)
    assert code == 1
    assert errors == [f"error: no space left on device at {out_with_good_result / 'result.mp4'}; "
                      "free some space and run again"]
    _only_good_result_left(out_with_good_result)


def test_real_ffmpeg_writing_to_a_full_device_is_an_output_error():
    from ppgan_app.errors import OutputError

    proc = video_io.FfmpegProcess(["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "64x64", "-r", "10",
                                   "-i", "-", "-c:v", "libx264", "-f", "matroska", "/dev/full"],
                                  target="result.mp4", stdin=True)
    frames = np.random.default_rng(0).integers(0, 255, (100, 64, 64, 3), dtype=np.uint8)
    with pytest.raises(OutputError, match="no space left on device at result.mp4"):
        for frame in frames:
            proc.write(frame.tobytes())
        proc.close()


def _bad_weights(folder: Path, kind: str) -> str:
    path = folder / f"bad_{kind}.pdparams"
    if kind == "random":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    else:
        from PIL import Image
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(path, format="JPEG")
    return str(path)


@pytest.mark.parametrize("kind", ["random", "jpeg"])
def test_weights_that_are_not_a_checkpoint(tiny_fomm, out_with_good_result, capsys, kind):
    args = _tiny_args(tiny_fomm, out_with_good_result)
    args[args.index("--weight_path") + 1] = _bad_weights(out_with_good_result.parent, kind)
    code, errors = _run(args, capsys)
    assert code == 2 and len(errors) == 1 and "as a Paddle checkpoint" in errors[0]
    _only_good_result_left(out_with_good_result)


@pytest.mark.parametrize("config,expected", [("malformed", "malformed YAML at"),
                                             ("dcgan_mnist", "not a FOMM config")])
def test_configs_that_are_not_fomm_configs(tiny_fomm, out_with_good_result, capsys, config,
                                           expected):
    from ppgan_app.utils.resources import packaged_config

    path = out_with_good_result.parent / "bad.yaml"
    path.write_text("model: [\n")
    args = _tiny_args(tiny_fomm, out_with_good_result)
    args[args.index("--config") + 1] = str(path if config == "malformed"
                                           else packaged_config(config))
    code, errors = _run(args, capsys)
    assert code == 2 and len(errors) == 1 and expected in errors[0]
    _only_good_result_left(out_with_good_result)


def test_gpu_on_a_cpu_build(tiny_fomm, out_with_good_result, capsys):
    import paddle

    if paddle.is_compiled_with_cuda():
        pytest.skip("this Paddle build has CUDA")
    code, errors = _run(_tiny_args(tiny_fomm, out_with_good_result, "--device", "gpu"), capsys)
    assert code == 2 and errors and "no CUDA" in errors[0]


def test_result_path_that_is_a_folder_fails_before_any_work(tiny_fomm, tmp_path, capsys,
                                                            monkeypatch):
    from ppgan_app.apps.expression_transfer import predictor as first_order_predictor

    out = tmp_path / "out"
    (out / "result.mp4").mkdir(parents=True)
    monkeypatch.setattr(first_order_predictor, "read_source_image",
                        lambda path: pytest.fail("work started before the destination check"))
    code, errors = _run(_tiny_args(tiny_fomm, out), capsys)
    assert code == 2 and errors == [f"error: output file {out / 'result.mp4'} is a folder; "
                                    "choose a file name (or remove the folder)"]


@pytest.mark.parametrize("name", ["sub/x.mp4", "../x.mp4", "/tmp/x.mp4", "..", "x.avi"])
def test_filename_is_a_plain_mp4_name_inside_output(tiny_fomm, tmp_path, capsys, name):
    out = tmp_path / "deep" / "out"
    code, errors = _run(_tiny_args(tiny_fomm, out, "--filename", name), capsys)
    assert code == 2 and len(errors) == 1 and "--filename" in errors[0]
    assert not out.exists() and not (tmp_path / "deep" / "x.mp4").exists()


def test_image_size_the_network_cannot_take(tiny_fomm, tmp_path, capsys):
    args = _tiny_args(tiny_fomm, tmp_path / "out")
    args[args.index("--image_size") + 1] = "300"
    code, errors = _run(args, capsys)
    assert code == 2 and errors == ["error: --image_size 300: this architecture takes multiples "
                                    "of 32 (e.g. 288)"]


def test_wrong_shape_checkpoint_is_one_line_and_verbose_lists_all(tiny_fomm, tmp_path, capsys,
                                                                 caplog):
    from ppgan_app.utils.resources import packaged_config

    args = _tiny_args(tiny_fomm, tmp_path / "out")
    args[args.index("--config") + 1] = str(packaged_config("firstorder_vox_mobile_256"))
    args[args.index("--image_size") + 1] = "256"
    code, errors = _run(args, capsys)
    assert code == 2 and len(errors) == 1
    assert "mismatched key(s), first kp_detector:" in errors[0]
    with caplog.at_level("DEBUG"):  # what --verbose shows: every mismatched key
        code = main(args + ["--verbose"])
    assert code == 2 and caplog.text.count("mis-shaped") > 10


def test_truncated_driving_video_warns_with_both_counts(tmp_path, caplog):
    source = tmp_path / "full.mp4"
    frames = [np.full((32, 32, 3), 8 * i, np.uint8) for i in range(30)]
    cmd = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "32x32", "-r", "10", "-i", "-",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(source)]
    proc = video_io.FfmpegProcess(cmd, str(source), stdin=True)
    for frame in frames:
        proc.write(frame.tobytes())
    proc.close()
    data = source.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 2 // 3])
    reader = video_io.VideoReader(str(cut))
    with caplog.at_level("WARNING"):
        decoded = sum(1 for _ in reader)
    assert decoded < 28
    assert f"declares about 30 frames (duration x fps) but only {decoded} could be decoded" \
        in caplog.text


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temps_of_killed_runs_are_removed_and_live_ones_kept(tiny_fomm, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    stale = out / f".result.mp4.{_dead_pid()}-0123abcd.video.mp4"
    live_writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = out / f".result.mp4.{live_writer.pid}-89abcdef.video.mp4"
        other = out / f".other.mp4.{_dead_pid()}-0123abcd.video.mp4"
        for path in (stale, live, other):
            path.write_bytes(b"partial")
        code, _ = _run(_tiny_args(tiny_fomm, out), capsys)
        assert code == 0
        assert not stale.exists() and live.exists() and other.exists()
    finally:
        live_writer.kill()
        live_writer.wait()


def test_sigterm_mid_run_removes_the_temp_video_and_keeps_the_earlier_result(
        tiny_fomm, out_with_good_result):
    """A real process stopped as ``timeout``/``docker stop`` do: exit 143, nothing partial."""
    script = Path(__file__).resolve().parents[2] / "applications" / "tools" / "first-order-demo.py"
    proc = subprocess.Popen([sys.executable, str(script), *_tiny_args(tiny_fomm,
                                                                      out_with_good_result)],
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not any(n.startswith(".result.mp4.") for n in os.listdir(out_with_good_result)):
        assert proc.poll() is None and time.monotonic() < deadline, "encoding never started"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "terminated (SIGTERM)" in err and "Traceback" not in err
    _only_good_result_left(out_with_good_result)


def test_a_still_picture_as_driving_video_gives_a_picture(tiny_fomm, tmp_path, capsys):
    from PIL import Image

    from ppgan_app.apps.expression_transfer.predictor import sample_paths
    from ppgan_app.media.video import VideoReader

    source, driving = sample_paths()
    still = tmp_path / "expression.png"
    Image.fromarray(next(iter(VideoReader(driving)))).save(still)
    out = tmp_path / "out"
    args = _tiny_args(tiny_fomm, out, "--source_image", source, "--driving_video", str(still),
                      "--relative")
    code = main([a for a in args if a != "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0 and os.listdir(out) == ["result.png"]
    assert f"wrote {out / 'result.png'}: the portrait with the still driving picture's " \
           "expression" in printed
    result = np.asarray(Image.open(out / "result.png"))
    assert result.shape == np.asarray(Image.open(source)).shape
    # the picture must not overwrite an input
    code, errors = _run(_tiny_args(tiny_fomm, tmp_path, "--source_image", source,
                                   "--driving_video", str(still), "--filename",
                                   "expression.mp4"), capsys)
    assert code == 2 and len(errors) == 1 and "would overwrite an input" in errors[0]


@pytest.mark.parametrize("suffix", [".wav", ".m4a"])
def test_a_sound_file_as_driving_video_says_it_has_no_video(tiny_fomm, tmp_path, capsys, suffix):
    sound = str(tmp_path / f"talk{suffix}")
    subprocess.run([REAL_FFMPEG, "-loglevel", "error", "-f", "lavfi", "-i",
                    "sine=frequency=440:duration=1", sound], check=True)
    code, errors = _run(_tiny_args(tiny_fomm, tmp_path / "out", "--driving_video", sound),
                        capsys)
    assert code == 2 and errors == [f"error: {sound} has no video stream (sound only); the "
                                    "driving video must show a face"]
    assert not (tmp_path / "out").exists()
