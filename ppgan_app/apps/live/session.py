"""A live run from its options: model, portrait crop, camera, window and video output.

    report = run_live(LiveOptions(source_image="me.jpg", camera="0", window=True))
"""
from __future__ import annotations

import logging
from typing import Callable, Optional

import numpy as np

from ppgan_app.apps.live.animator import portrait_crop
from ppgan_app.apps.live.camera import Camera, Captured
from ppgan_app.apps.live.options import LiveOptions
from ppgan_app.apps.live.pipeline import LivePipeline, LiveReport
from ppgan_app.apps.live.tracker import FaceTracker
from ppgan_app.errors import InputError

logger = logging.getLogger(__name__)

WINDOW = "ppgan live (r: reset pose, q: quit)"
KEY_RESET = (ord("r"), ord("R"))
KEY_QUIT = (ord("q"), ord("Q"), 27)


class Window:
    """An OpenCV window showing frames; ``r`` resets the reference pose, ``q``/Esc quits.

    Raises:
        InputError: this OpenCV has no window support (the headless build).
    """

    def __init__(self) -> None:
        import cv2

        try:
            cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL)
        except cv2.error:
            raise InputError("--window needs OpenCV with window support (pip install "
                             "opencv-python instead of opencv-python-headless); use --output "
                             "to write a video instead") from None

    def show(self, frame: np.ndarray, pipeline: LivePipeline) -> bool:
        """Show ``frame [H,W,3] uint8`` RGB; False when the user quits."""
        import cv2

        cv2.imshow(WINDOW, frame[:, :, ::-1])
        key = cv2.waitKey(1) & 0xFF
        if key in KEY_RESET:
            pipeline.reset_reference()
        return key not in KEY_QUIT

    def close(self) -> None:
        import cv2

        cv2.destroyWindow(WINDOW)


class VideoOut:
    """The output video on the capture's timeline: each frame is repeated until the next one's
    capture time, so the video lasts as long as the camera ran (frames dropped on the way show
    as held frames). Published atomically by :meth:`finish`."""

    def __init__(self, path: str, fps: float) -> None:
        from ppgan_app.media.video import Mp4Writer

        self.writer = Mp4Writer(path, fps)
        self.first_index: Optional[int] = None

    def write(self, frame: np.ndarray, captured: Captured) -> None:
        if self.first_index is None:
            self.first_index = captured.index
        target = captured.index - self.first_index + 1
        while self.writer.frames_written < target:
            self.writer.write(frame)

    def finish(self) -> str:
        return self.writer.finish()

    def abort(self) -> None:
        self.writer.abort()


def build_live(options: LiveOptions) -> tuple:
    """``(engine, portrait crop [S,S,3] uint8, tracker)`` for ``options`` (model built, weights
    loaded)."""
    from ppgan_app.apps.expression_transfer.fomm_animator import build_fomm_animator
    from ppgan_app.apps.expression_transfer.predictor import read_source_image, sample_paths
    from ppgan_app.faces.detectors import build_face_detector

    source_path = options.source_image or sample_paths()[0]
    image = read_source_image(source_path)
    detector = build_face_detector(options.face_detector)
    animator = build_fomm_animator(config=options.config, weight_path=options.weight_path,
                                   image_size=options.image_size, mobile_net=options.mobile_net,
                                   engine=options.engine, precision=options.precision,
                                   threads=options.threads)
    size = animator.image_size
    tracker = FaceTracker(detector, size, redetect_every=options.redetect_every)
    return animator.engine, portrait_crop(image, detector, size), tracker


def run_live(options: LiveOptions,
             on_pipeline: Optional[Callable[[LivePipeline], None]] = None) -> LiveReport:
    """Run live mode until the camera ends, ``max_frames``, ``q`` or Ctrl-C.

    Args:
        options: the run's options (checked).
        on_pipeline: called with the pipeline before it starts (e.g. to keep a handle for
            :meth:`LivePipeline.reset_reference` or its ``stop`` event).

    Returns:
        the run's :class:`LiveReport` (its ``output`` is the published video, if any).
    """
    from ppgan_app.utils.safe_files import check_destination

    if options.output is not None:
        check_destination(options.output, what="--output")
    if not options.window and options.output is None:
        logger.warning("neither --window nor --output: frames are animated and counted only")
    camera = Camera(options.camera)
    window = Window() if options.window else None
    video = None
    try:
        engine, source, tracker = build_live(options)
        video = VideoOut(options.output, camera.fps) if options.output else None
        pipeline = LivePipeline(engine, source, tracker, adapt_scale=options.adapt_scale,
                                report_every=options.report_every,
                                generator_workers=options.generator_threads)

        def sink(frame: np.ndarray, captured: Captured) -> bool:
            if video is not None:
                video.write(frame, captured)
            return window.show(frame, pipeline) if window is not None else True

        pipeline.sink = sink
        if on_pipeline is not None:
            on_pipeline(pipeline)
        report = pipeline.run(camera, options.max_frames)
        output = None
        if video is not None and report.frames_out:
            output = video.finish()
            video = None
    finally:
        camera.close()
        if video is not None:
            video.abort()
        if window is not None:
            window.close()
    logger.debug("live: %s", report.line())
    return LiveReport(**{**report.__dict__, "output": output})
