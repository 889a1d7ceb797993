"""The live pipeline: capture -> keypoints -> generator -> output, one thread each.

Stages hand frames over through :class:`~ppgan_app.apps.live.slots.LatestSlot` (capacity one):
the camera's newer frame replaces one not yet taken, so when the machine cannot keep up frames
are dropped where they wait, before any work is spent on them, and the latency stays bounded;
the keypoint stage hands its result to a generator only when one took the last one (then takes
the newest camera frame), so the keypoint and generator stages run at the same time on
consecutive frames without computing keypoints to be dropped. The generator is most of a frame's
work: where the engine can run twice at once (:meth:`Engine.twin`: the graph engines) two
generator threads animate alternate frames, one core each, and the output keeps the capture
order (a frame finished after a newer one is dropped).

Motion is relative (as the demo's ``--relative``): keypoints move the portrait by how far the
driving face moved from a reference frame, the first frame where a face was found, until
:meth:`LivePipeline.reset_reference` (key ``r``) takes the next frame as the new reference.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from ppgan_app.apps.live.animator import LiveAnimator
from ppgan_app.apps.live.camera import Camera, Captured
from ppgan_app.apps.live.slots import CLOSED, LatestSlot
from ppgan_app.apps.live.tracker import FaceTracker

logger = logging.getLogger(__name__)

POLL_S = 0.05          # how often a waiting stage looks at the stop flag


@dataclass
class LiveStats:
    """Frames out, their capture-to-output latency, and drops; windows for periodic reports."""

    started: float = field(default_factory=time.perf_counter)
    started_cpu: float = field(default_factory=time.process_time)
    latencies: list = field(default_factory=list)     # seconds, every frame out
    out_times: list = field(default_factory=list)     # perf_counter of every frame out
    captured: int = 0

    def add(self, captured: Captured, now: float) -> None:
        self.latencies.append(now - captured.time)
        self.out_times.append(now)

    def fps(self, since: float = 0.0) -> float:
        """Frames out per second among outputs after ``since`` (perf_counter)."""
        times = [t for t in self.out_times if t >= since]
        if len(times) < 2:
            return 0.0
        return (len(times) - 1) / max(times[-1] - times[0], 1e-9)

    def latency_ms(self, percentile: float, since: float = 0.0) -> float:
        values = [lat for lat, t in zip(self.latencies, self.out_times) if t >= since]
        return float(np.percentile(values, percentile) * 1000.0) if values else float("nan")


@dataclass(frozen=True)
class LiveReport:
    """What a live run did (``fps``: frames out per second, sustained over the run)."""

    frames_captured: int
    frames_out: int
    seconds: float
    fps: float
    latency_p50_ms: float
    latency_p90_ms: float
    dropped: dict
    max_queue_depth: int
    resets: int
    output: Optional[str]
    cpu_ms_per_frame: float = float("nan")   # CPU time of the process (all threads) per frame out
    generator_workers: int = 1

    def line(self) -> str:
        drops = ", ".join(f"{k} {v}" for k, v in self.dropped.items())
        return (f"{self.frames_out} frames out of {self.frames_captured} captured in "
                f"{self.seconds:.1f} s: {self.fps:.1f} fps, latency p50 "
                f"{self.latency_p50_ms:.0f} ms p90 {self.latency_p90_ms:.0f} ms, "
                f"{self.cpu_ms_per_frame:.0f} CPU ms per frame, {self.generator_workers} "
                f"generator thread(s), dropped ({drops})")


class LivePipeline:
    """Animates ``source`` with the face in front of a camera.

    Args:
        engine, source, tracker, adapt_scale: those of the
            :class:`~ppgan_app.apps.live.animator.LiveAnimator` that animates each frame
            (:attr:`animator`).
        sink: called with every output frame ``[S,S,3] uint8`` and its :class:`Captured`
            (writing, showing); returns False to stop the run.
        report_every: seconds between progress lines (fps, latency).
    """

    def __init__(self, engine: Any, source: np.ndarray, tracker: FaceTracker,
                 adapt_scale: bool = False,
                 sink: Optional[Callable[[np.ndarray, Captured], bool]] = None,
                 report_every: float = 5.0, generator_workers: int = 0) -> None:
        self.animator = LiveAnimator(engine, source, tracker, adapt_scale)
        self.generators = generator_engines(engine, generator_workers)
        for twin in self.generators[1:]:
            self.animator.warm_up(twin)
        self.sink = sink
        self.report_every = float(report_every)
        self.slots = {"capture": LatestSlot(), "keypoints": LatestSlot(),
                      "generator": LatestSlot()}
        self._last_out = -1             # capture index of the last frame output
        self.late = 0                   # frames finished after a newer one (dropped)
        self.stop = threading.Event()
        self.stats = LiveStats()
        self._errors: list = []

    @property
    def resets(self) -> int:
        """Reference poses taken again (:meth:`reset_reference`)."""
        return self.animator.resets

    def reset_reference(self) -> None:
        """Take the next driving frame (with a face) as the reference pose."""
        self.animator.reset_reference()

    # --- stages ------------------------------------------------------------------------------
    def _capture(self, camera: Camera, max_frames: int) -> None:
        for captured in camera.frames(self.stop, max_frames):
            self.stats.captured += 1
            self.slots["capture"].put(captured)

    def _keypoints(self, captured: Captured) -> tuple:
        """A frame's driving keypoints relative to the reference (None: no face seen yet)."""
        return captured, self.animator.motion(captured.image, captured.index)

    def _generator_stage(self, engine: Any) -> Callable[[tuple], tuple]:
        """The body of one generator thread, on ``engine`` (the animator's or a twin)."""
        def generate(item: tuple) -> tuple:
            captured, kp_driving = item
            return captured, self.animator.render(kp_driving, engine)
        return generate

    def _stage(self, name: str, work: Optional[Callable], inbox: Optional[str], outbox: str,
               *args: Any) -> Callable[[], None]:
        """A thread body: ``work`` each item of ``inbox`` into ``outbox`` until closed."""
        def body() -> None:
            try:
                if inbox is None:
                    self._capture(*args)
                    return
                while True:
                    item = self.slots[inbox].get(timeout=POLL_S)
                    if item is CLOSED:
                        return
                    if item is not None and inbox == "capture":
                        self.slots[outbox].put_when_taken(work(item), self.stop)
                    elif item is not None:
                        self.slots[outbox].put(work(item))
            except BaseException as err:  # noqa: BLE001 - handed to the main thread
                self._errors.append(err)
                self.stop.set()
            finally:
                if self._stage_done(name):          # the stage's last thread
                    self.slots[outbox].close()
        return body

    def _stage_done(self, name: str) -> bool:
        """Count one thread of stage ``name`` out; True when it was the last one."""
        with self._workers_lock:
            self._workers[name] -= 1
            return self._workers[name] == 0

    # --- the run -----------------------------------------------------------------------------
    def run(self, camera: Camera, max_frames: int = 0) -> LiveReport:
        """Run until the camera ends, ``max_frames`` camera frames, the sink says stop or
        :attr:`stop` is set; the calling thread does the output. Returns the report."""
        threads = [threading.Thread(target=self._stage("capture", None, None, "capture",
                                                       camera, max_frames), daemon=True),
                   threading.Thread(target=self._stage("keypoints", self._keypoints, "capture",
                                                       "keypoints"), daemon=True)]
        threads += [threading.Thread(target=self._stage("generator", self._generator_stage(e),
                                                        "keypoints", "generator"), daemon=True)
                    for e in self.generators]
        self.stats = LiveStats()
        self._camera = camera
        self._workers = {"capture": 1, "keypoints": 1, "generator": len(self.generators)}
        self._workers_lock = threading.Lock()
        for thread in threads:
            thread.start()
        try:
            self._output_loop()
        finally:
            self.stop.set()
            for thread in threads:
                thread.join()
        if self._errors:
            raise self._errors[0]
        return self.report()

    def _output_loop(self) -> None:
        last_report = time.perf_counter()
        while True:
            item = self.slots["generator"].get(timeout=POLL_S)
            if item is CLOSED:
                return
            if item is None:
                continue
            captured, frame = item
            if captured.index <= self._last_out:       # a newer frame went out first
                self.late += 1
                continue
            self._last_out = captured.index
            if self.sink is not None and self.sink(frame, captured) is False:
                return
            now = time.perf_counter()
            self.stats.add(captured, now)
            if now - last_report >= self.report_every:
                logger.info("live: %.1f fps, latency p50 %.0f ms p90 %.0f ms",
                            self.stats.fps(last_report), self.stats.latency_ms(50, last_report),
                            self.stats.latency_ms(90, last_report))
                last_report = now

    def report(self) -> LiveReport:
        stats = self.stats
        out = len(stats.out_times)
        return LiveReport(
            frames_captured=stats.captured, frames_out=out,
            seconds=(stats.out_times[-1] - stats.started) if out else 0.0,
            fps=stats.fps(), latency_p50_ms=stats.latency_ms(50),
            latency_p90_ms=stats.latency_ms(90),
            dropped={"camera": getattr(getattr(self, "_camera", None), "skipped", 0),
                     **{name: slot.dropped for name, slot in self.slots.items()},
                     "late": self.late},
            max_queue_depth=max(slot.max_depth for slot in self.slots.values()),
            resets=self.resets, output=None,
            cpu_ms_per_frame=1000.0 * (time.process_time() - stats.started_cpu) / max(1, out),
            generator_workers=len(self.generators))


def generator_engines(engine: Any, workers: int = 0) -> list:
    """``engine`` and its twins: one engine per generator thread (see :class:`LivePipeline`)."""
    from ppgan_app.utils.process import cpu_threads

    wanted = workers if workers > 0 else (2 if cpu_threads() >= 2 else 1)
    engines = [engine]
    while len(engines) < wanted:
        twin = engine.twin() if hasattr(engine, "twin") else None
        if twin is None:
            if workers > 1:
                logger.info("the %s engine runs one generator at a time: 1 generator thread",
                            getattr(engine, "name", "this"))
            break
        engines.append(twin)
    return engines
