"""Live mode on a short clip played as a camera: frames come out, slow stages drop frames
instead of queueing them, the reference pose resets, the output video is valid, and the
command line maps bad flags to one line and exit 2."""
import logging
import threading
import time

import numpy as np
import pytest

from ppgan_app.apps.live.camera import Camera
from ppgan_app.apps.live.options import LiveOptions
from ppgan_app.apps.live.pipeline import LivePipeline
from ppgan_app.apps.live.session import build_live, run_live
from ppgan_app.apps.live.slots import CLOSED, LatestSlot
from ppgan_app.media.video import VideoReader
from ppgan_app.cli import live as live_cli
from ppgan_app.errors import InputError


def _options(tiny_fomm, camera, **kwargs) -> LiveOptions:
    return LiveOptions(camera=camera, config=tiny_fomm["config"],
                       weight_path=tiny_fomm["weights"], image_size=64, **kwargs)


def test_latest_slot_keeps_the_newest_item_and_counts_drops():
    slot = LatestSlot()
    assert slot.get(timeout=0.01) is None
    for item in range(3):
        slot.put(item)
    assert slot.get() == 2 and slot.dropped == 2 and slot.max_depth == 1
    slot.put(3)
    slot.close()
    assert slot.get() == 3 and slot.get() is CLOSED
    waiter = LatestSlot()
    threading.Timer(0.05, waiter.close).start()
    assert waiter.get() is CLOSED                     # a closed slot wakes its reader


def test_put_when_taken_waits_for_the_consumer_and_never_drops():
    slot = LatestSlot()
    slot.put_when_taken("a")
    started = time.perf_counter()
    threading.Timer(0.1, slot.get).start()            # the consumer takes "a" after 0.1 s
    slot.put_when_taken("b")
    assert time.perf_counter() - started >= 0.09
    assert slot.get() == "b" and slot.dropped == 0 and slot.max_depth == 1
    stop = threading.Event()
    slot.put_when_taken("c")
    threading.Timer(0.05, stop.set).start()
    slot.put_when_taken("d", stop)                    # stopped: "d" is discarded
    assert slot.get() == "c" and slot.get(timeout=0.01) is None


def test_live_run_writes_the_video_on_the_capture_timeline(tiny_fomm, camera_clip, tmp_path):
    out = tmp_path / "live.mp4"
    report = run_live(_options(tiny_fomm, camera_clip, output=str(out), report_every=0.2))
    assert report.output == str(out) and report.frames_out >= 1
    assert report.frames_out + sum(report.dropped.values()) == report.frames_captured + \
        report.dropped["camera"]
    assert report.max_queue_depth <= 1 and report.fps > 0 and report.latency_p50_ms > 0
    frames = list(VideoReader(str(out)))
    assert len(frames) == 20 and frames[0].shape == (64, 64, 3)   # as long as the clip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.mp4"]


class SlowEngine:
    """An engine whose generator takes ``delay`` seconds (a machine that cannot keep up)."""

    def __init__(self, engine, delay):
        self.engine, self.delay = engine, delay

    def kp_detector(self, images):
        return self.engine.kp_detector(images)

    def generator(self, *args):
        time.sleep(self.delay)
        return self.engine.generator(*args)


def test_a_slow_stage_drops_frames_and_latency_stays_bounded(tiny_fomm, camera_clip):
    engine, source, tracker = build_live(_options(tiny_fomm, camera_clip))
    pipeline = LivePipeline(SlowEngine(engine, 0.15), source, tracker)
    report = pipeline.run(Camera(camera_clip))
    assert report.frames_out < report.frames_captured           # 0.15 s/frame at 25 fps
    assert report.dropped["capture"] > 0 and report.dropped["keypoints"] == 0
    assert report.max_queue_depth == 1
    # never more than one frame waits before the slow stage: latency stays near 2 x its time
    assert report.latency_p90_ms < 0.15 * 1000 * 4


class CountingTwinEngine(SlowEngine):
    """A slow engine with twins; counts each twin's frames. Its first frame takes 3x longer
    (so a newer frame finishes first, as happens when a core is busy)."""

    def __init__(self, engine, delay, calls=None):
        super().__init__(engine, delay)
        self.calls = calls if calls is not None else []
        self.me = len(self.calls)
        self.calls.append(0)

    def generator(self, *args):
        self.calls[self.me] += 1
        time.sleep(self.delay * (3 if sum(self.calls) == 1 else 1))
        return self.engine.generator(*args)

    def twin(self):
        return CountingTwinEngine(self.engine, self.delay, self.calls)


def test_two_generator_stages_share_the_frames_and_keep_their_order(tiny_fomm,
                                                                   long_camera_clip):
    engine, source, tracker = build_live(_options(tiny_fomm, long_camera_clip))
    counting = CountingTwinEngine(engine, 0.1)
    order = []
    pipeline = LivePipeline(counting, source, tracker, generator_workers=2,
                            sink=lambda frame, captured: order.append(captured.index) is None)
    counting.calls[:] = [0, 0]                               # forget the warm-up calls
    report = pipeline.run(Camera(long_camera_clip))
    assert report.generator_workers == 2 and min(counting.calls) >= 3, counting.calls
    assert order == sorted(set(order)) and len(order) == report.frames_out
    assert report.frames_out + sum(report.dropped.values()) == report.frames_captured + \
        report.dropped["camera"]                              # late frames are counted
    assert len(LivePipeline(SlowEngine(engine, 0.0), source, tracker,
                            generator_workers=2).generators) == 1   # no twin: one stage


def test_reset_takes_a_new_reference_frame(tiny_fomm, long_camera_clip, caplog):
    engine, source, tracker = build_live(_options(tiny_fomm, long_camera_clip))
    outputs = []

    def sink(frame, captured):
        outputs.append(frame)
        if len(outputs) == 3:
            pipeline.reset_reference()
        return True

    pipeline = LivePipeline(engine, source, tracker, sink=sink)
    with caplog.at_level(logging.INFO, logger="ppgan_app.apps.live.animator"):
        report = pipeline.run(Camera(long_camera_clip))
    references = [r.message for r in caplog.records if "reference driving frame" in r.message]
    assert report.resets == 1 and len(references) == 2, references
    assert references[0] != references[1]
    assert all(frame.dtype == np.uint8 and frame.shape == (64, 64, 3) for frame in outputs)


def test_stop_ends_the_run_early(tiny_fomm, camera_clip):
    engine, source, tracker = build_live(_options(tiny_fomm, camera_clip))
    pipeline = LivePipeline(engine, source, tracker,
                            sink=lambda frame, captured: captured.index < 4)
    report = pipeline.run(Camera(camera_clip))
    assert 1 <= report.frames_out <= 5 and report.frames_captured < 20


def test_options_are_checked_before_any_work():
    with pytest.raises(InputError, match="--output must be an .mp4"):
        LiveOptions(output="live.avi")
    with pytest.raises(InputError, match="--redetect_every must be > 0"):
        LiveOptions(redetect_every=0)
    with pytest.raises(InputError, match="--engine 'tpu' is not one of"):
        LiveOptions(engine="tpu")
    assert LiveOptions().mobile_net and LiveOptions().camera == "0"


def test_command_line(tiny_fomm, camera_clip, tmp_path, capsys):
    args = ["--camera", camera_clip, "--config", tiny_fomm["config"], "--weight_path",
            tiny_fomm["weights"], "--image_size", "64"]
    assert live_cli.main(args + ["--output", str(tmp_path / "o.mp4"), "--max_frames", "8"]) == 0
    out = capsys.readouterr().out
    assert "fps, latency p50" in out and "wrote" in out and (tmp_path / "o.mp4").is_file()
    cases = [(["--camera", str(tmp_path / "none.mp4")], "--camera"),
             (["--max_frames", "x"], "--max_frames")]
    if _headless_opencv():
        cases.append((["--window"], "--window needs OpenCV with window support"))
    for bad, says in cases:
        code = live_cli.main(args + bad)
        err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]
        assert code == 2 and len(err) == 1 and says in err[0], (bad, err)


def _headless_opencv() -> bool:
    import cv2
    import re

    return re.search(r"GUI:\s+NONE", cv2.getBuildInformation()) is not None
