"""The Live tab: the browser's webcam drives the portrait, frame by frame (Gradio streaming).

Each webcam frame is animated by live mode's own
:class:`~ppgan_app.apps.live.animator.LiveAnimator` (the portrait's crop and keypoints computed
once, the driving face tracked, motion relative to a reference pose that *Reset reference*
takes again), on the engine the server's flags chose (the mobile model on ``--engine auto`` by
default). Each session keeps its animator in a ``gr.State``; the engine is shared. The tab
shows the engine, the frames returned per second and the server's time per frame.
"""
from __future__ import annotations

import collections
import logging
import time
from typing import Any, Callable, Deque, Dict, Optional, Tuple

import numpy as np

from ppgan_app.errors import KitError

logger = logging.getLogger(__name__)

#: Seconds of recent frames the fps and latency figures cover.
FPS_WINDOW = 3.0
#: Seconds between webcam frames sent by the browser (Gradio's ``stream_every``).
STREAM_EVERY = 0.04
#: Camera frames between face detections (the crop is tracked in between), as live mode's.
REDETECT_EVERY = 10


class LiveService:
    """What the Live tab shares between sessions: the engine, the face detector, the label.

    Args:
        make_animator: builds the networks (called once, at start): an object with ``engine``
            (``kp_detector``/``generator``), ``image_size`` and, to be reported,
            ``engine_name`` and ``precision`` (a :class:`FommAnimator`). An error (missing
            weights) is kept as :attr:`unavailable` and shown in the tab instead of the webcam.
        detect: builds the face detector (``image -> [K,5]`` boxes).
        model: what the tab says it runs (``"vox-mobile"``, ...).
        adapt_scale: scale the motion by the keypoint hull areas.
    """

    def __init__(self, make_animator: Callable[[], Any], detect: Callable[[], Any],
                 model: str = "", adapt_scale: bool = False) -> None:
        self.unavailable = ""
        self.engine: Any = None
        self.detect: Any = None
        self.size = 0
        self.adapt_scale = adapt_scale
        self.label = model
        try:
            animator = make_animator()
            self.detect = detect()
        except KitError as err:
            self.unavailable = " ".join(str(err).split())
            logger.warning("Live tab unavailable: %s", self.unavailable)
            return
        self.engine, self.size = animator.engine, int(animator.image_size)
        engine = getattr(animator, "engine_name", "") or type(animator.engine).__name__
        self.label = (f"engine {engine} ({getattr(animator, 'precision', 'fp32')}), "
                      f"{model + ', ' if model else ''}{self.size} px")
        logger.info("Live tab: %s", self.label)

    def step(self, frame: Optional[np.ndarray], portrait: Optional[str],
             session: Optional[Dict[str, Any]]) -> Tuple[Any, str, Dict[str, Any]]:
        """One webcam frame ``[h,w,3] uint8`` → ``(animated portrait [S,S,3] uint8, stats
        line, session)``."""
        session = session or {}
        if frame is None or not portrait:
            return None, "choose a portrait, then start the webcam", session
        start, received = time.perf_counter(), time.time()
        try:
            animator = self._animator(session, portrait)
            if session.pop("reset", False):
                animator.reset_reference()
            out = animator(np.ascontiguousarray(frame[..., :3]))
        except KitError as err:
            return None, f"error: {' '.join(str(err).split())}", session
        now = time.perf_counter()
        session["frames"] = count = session.get("frames", 0) + 1
        # epoch seconds, for benchmarks that pair them with the page's display of the frame
        logger.debug("live frame %d: received %.4f answered %.4f", count, received, time.time())
        return out, self._stats(session["times"], now, now - start, count), session

    def _animator(self, session: Dict[str, Any], portrait: str) -> Any:
        """The session's live animator, made again when the portrait changes."""
        from ppgan_app.apps.expression_transfer.predictor import read_source_image
        from ppgan_app.apps.live.animator import LiveAnimator

        if session.get("animator") is None or session.get("portrait") != portrait:
            animator = LiveAnimator.for_portrait(self.engine, read_source_image(portrait),
                                                 self.detect, self.size, REDETECT_EVERY,
                                                 self.adapt_scale)
            session.update(animator=animator, portrait=portrait, times=collections.deque(),
                           frames=0)
        return session["animator"]

    def _stats(self, times: Deque[Tuple[float, float]], now: float, seconds: float,
               count: int) -> str:
        """``fps · median ms per frame on the server (last seconds) · frames · engine``."""
        times.append((now, seconds))
        while times and times[0][0] < now - FPS_WINDOW:
            times.popleft()
        span = times[-1][0] - times[0][0]
        fps = (len(times) - 1) / span if span > 0 else 0.0
        median = float(np.median([s for _, s in times])) * 1000.0
        return (f"**{fps:.1f} fps** · {median:.0f} ms per frame on the server · "
                f"{count} frames · {self.label}")


def build_live_tab(service: LiveService) -> None:
    """The tab's layout and its stream (call inside ``gr.Blocks`` and ``gr.Tab``)."""
    import gradio as gr

    from ppgan_app.apps.expression_transfer.predictor import sample_paths

    if service.unavailable:
        gr.Markdown(f"**Live is not available on this server:** {service.unavailable}",
                    elem_id="live-unavailable")
        return
    gr.Markdown(f"Your webcam moves the portrait's face ({service.label}). Hold a neutral pose "
                "when you start, or press *Reset reference* while looking straight at the "
                "camera.", elem_id="live-engine")
    with gr.Row(equal_height=False):
        with gr.Column(min_width=260):
            portrait = gr.Image(value=sample_paths()[0], label="Portrait", type="filepath",
                                sources=["upload", "clipboard"], elem_id="live-portrait",
                                height=300)
            webcam = gr.Image(label="Webcam", sources=["webcam"], streaming=True, type="numpy",
                              elem_id="live-webcam", height=300)
        with gr.Column(min_width=260):
            output = gr.Image(label="Animated face", interactive=False,
                              elem_id="live-output", height=420, format="jpeg")
            stats = gr.Markdown(elem_id="live-stats")
            reset = gr.Button("Reset reference", elem_id="live-reset")
    state = gr.State(None)

    def ask_reset(session: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        session = session or {}
        session["reset"] = True
        return session

    webcam.stream(service.step, [webcam, portrait, state], [output, stats, state],
                  stream_every=STREAM_EVERY, concurrency_limit=1, concurrency_id="live",
                  show_progress="hidden", api_visibility="private")
    reset.click(ask_reset, state, state, queue=False, api_visibility="private")
