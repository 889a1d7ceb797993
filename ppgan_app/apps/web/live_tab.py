"""The Live tab: the browser's webcam drives the portrait, frame by frame (Gradio streaming).

Each session keeps its own :class:`~ppgan_app.apps.web.frame_animator.FrameAnimator` (portrait
keypoints, reference pose, webcam crop) in a ``gr.State``; the networks are shared. The tab
shows the frames returned per second and the time the server spends on a frame.
"""
from __future__ import annotations

import collections
import logging
import time
from typing import Any, Callable, Deque, Dict, Optional, Tuple

import numpy as np

from ppgan_app.apps.web.frame_animator import FrameAnimator
from ppgan_app.errors import KitError

logger = logging.getLogger(__name__)

#: Seconds of recent frames the fps figure averages over.
FPS_WINDOW = 3.0
#: Seconds between webcam frames sent by the browser (Gradio's ``stream_every``).
STREAM_EVERY = 0.05


class LiveService:
    """What the Live tab shares between sessions.

    Args:
        make_animator: builds the networks (called once, at start); an error (missing weights)
            is kept as :attr:`unavailable` and shown in the tab instead of the webcam.
        detect: the face detector (``image -> [K,5]`` boxes).
        ratio: size of the pasted face region.
        model: what the tab says it runs (``"vox-mobile"``, ...).
    """

    def __init__(self, make_animator: Callable[[], Any], detect: Callable[[], Any],
                 ratio: float = 0.4, model: str = "") -> None:
        self.unavailable = ""
        self.animator: Any = None
        self.detect: Any = None
        self.ratio = ratio
        self.model = model
        try:
            self.animator = make_animator()
            self.detect = detect()
        except KitError as err:
            self.unavailable = " ".join(str(err).split())
            logger.warning("Live tab unavailable: %s", self.unavailable)

    def step(self, frame: Optional[np.ndarray], portrait: Optional[str],
             session: Optional[Dict[str, Any]]) -> Tuple[Any, str, Dict[str, Any]]:
        """One webcam frame → ``(animated portrait, stats line, session)``."""
        from ppgan_app.apps.expression_transfer.predictor import read_source_image

        session = session or {}
        if frame is None or not portrait:
            return None, "choose a portrait, then start the webcam", session
        start = time.perf_counter()
        engine: Optional[FrameAnimator] = session.get("engine")
        try:
            if engine is None or session.get("portrait") != portrait:
                engine = FrameAnimator(self.animator, self.detect, self.ratio)
                engine.set_source(read_source_image(portrait))
                session.update(engine=engine, portrait=portrait, times=collections.deque())
            if session.pop("reset", False):
                engine.reset()
            out = engine(np.ascontiguousarray(frame[..., :3]))
        except KitError as err:
            return None, f"error: {' '.join(str(err).split())}", session
        now = time.perf_counter()
        return out, self._stats(session["times"], now, now - start), session

    @staticmethod
    def _stats(times: Deque[float], now: float, seconds: float) -> str:
        times.append(now)
        while times and times[0] < now - FPS_WINDOW:
            times.popleft()
        span = times[-1] - times[0]
        fps = (len(times) - 1) / span if span > 0 else 0.0
        return f"**{fps:.1f} fps** · {seconds * 1000:.0f} ms per frame on the server"


def build_live_tab(service: LiveService) -> None:
    """The tab's layout and its stream (call inside ``gr.Blocks`` and ``gr.Tab``)."""
    import gradio as gr

    from ppgan_app.apps.expression_transfer.predictor import sample_paths

    if service.unavailable:
        gr.Markdown(f"**Live is not available on this server:** {service.unavailable}",
                    elem_id="live-unavailable")
        return
    gr.Markdown(f"Your webcam moves the portrait ({service.model}). Hold a neutral pose when "
                "you start, or press *Reset reference* while looking straight at the camera.")
    with gr.Row(equal_height=False):
        with gr.Column(min_width=260):
            portrait = gr.Image(value=sample_paths()[0], label="Portrait", type="filepath",
                                sources=["upload", "clipboard"], elem_id="live-portrait",
                                height=300)
            webcam = gr.Image(label="Webcam", sources=["webcam"], streaming=True, type="numpy",
                              elem_id="live-webcam", height=300)
        with gr.Column(min_width=260):
            output = gr.Image(label="Animated portrait", interactive=False,
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
