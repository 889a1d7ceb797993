"""The Animate tab and its API endpoint ``/animate``: a portrait and a driving video → a video.

:class:`AnimateService` runs jobs (one at a time: the networks are shared; Gradio's queue orders
them) and checks inputs as soon as they are chosen; :func:`build_animate_tab` lays out the tab.
Errors reach the page as the command line's one line, with the page's labels for the options
(:func:`~ppgan_app.apps.web.form.page_words`).
"""
from __future__ import annotations

import inspect
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

from ppgan_app.apps.expression_transfer.options import TransferOptions
from ppgan_app.apps.web import form
from ppgan_app.apps.web.temp_root import new_job_folder
from ppgan_app.errors import InputError, KitError

logger = logging.getLogger(__name__)

#: File endings offered in the file pickers (anything else is still read and checked).
IMAGE_TYPES = [".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"]
VIDEO_TYPES = [".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v"]


class Cancelled(KitError):
    """The user pressed Cancel (or the server is stopping) while the job ran."""


def check_driving_video(path: str) -> Dict[str, Any]:
    """Read a driving input's header: ``{"frames", "fps", "audio", "still", "size"}``.

    A still picture (``still`` True, one frame) is a valid driving input: the portrait takes
    its expression and the result is a picture, as with the command line.

    Raises:
        InputError: unreadable, or a video of fewer than two frames.
    """
    from ppgan_app.media.video import VideoReader, probe_streams

    reader = VideoReader(path)
    meta = reader.meta
    if reader.still:
        return {"frames": 1, "fps": meta.fps, "audio": False, "still": True, "size": meta.size}
    if meta.n_frames is not None and meta.n_frames < 2:
        raise InputError(f"the driving video {os.path.basename(path)} has {meta.n_frames} "
                         "frame(s); choose a video of a face (mp4, mov, webm, ...) or a picture")
    return {"frames": meta.n_frames, "fps": meta.fps, "audio": probe_streams(path).has_audio,
            "still": False, "size": meta.size}


class AnimateService:
    """Runs Animate jobs with networks built once and shared.

    Args:
        defaults: the server's options (its flags): the networks' choice and the page's
            defaults.
        root: the server's temp root (:func:`~ppgan_app.apps.web.temp_root.make_root`).
        animator: networks to use instead of building them from ``defaults`` (tests).
    """

    def __init__(self, defaults: TransferOptions, root: Path, animator: Any = None) -> None:
        self.defaults = defaults
        self.root = root
        self.unavailable = form.unavailable_options(defaults)
        self._animator = animator
        self._enhancer: Any = None
        self._upscalers: Dict[str, Any] = {}  # --super_resolution factor -> its network
        self._detectors: Dict[str, Any] = {}
        self._run_lock = threading.Lock()  # one job on the networks at a time
        self._cancel: Dict[str, threading.Event] = {}
        self._results: Dict[str, str] = {}  # each session's last result
        self._stopping = threading.Event()

    # -- shared parts

    @property
    def animator(self) -> Any:
        """The FOMM networks, built on first use (``warm_up`` builds them at start)."""
        if self._animator is None:
            from ppgan_app.apps.expression_transfer.predictor import FirstOrderPredictor

            self._animator = FirstOrderPredictor(self.defaults).animator
        return self._animator

    def warm_up(self) -> None:
        """Build the networks now: missing weights stop the server at start (exit 2)."""
        self.animator  # noqa: B018

    def detector(self, name: str) -> Any:
        """The face detector ``name`` (built once)."""
        if name not in self._detectors:
            from ppgan_app.faces.detectors import build_face_detector

            self._detectors[name] = build_face_detector(name)
        return self._detectors[name]

    # -- checks when an input is chosen

    def portrait_status(self, path: Optional[str], face_detector: str, no_face_ok: bool
                        ) -> Tuple[str, Optional[np.ndarray]]:
        """A chosen portrait: one line (faces found, or the error a job would give) and its
        preview ``[H,W,3] uint8`` as the pipeline reads it (EXIF rotation applied)."""
        from ppgan_app.apps.expression_transfer.predictor import (read_source_image,
                                                                  source_face_boxes)

        if not path:
            return "", None
        try:
            image = read_source_image(path)
            found = source_face_boxes(image, self.detector(face_detector), True, no_face_ok)
            boxes, whole = found[-2], found[-1]  # (..., crop boxes, whole image)
        except KitError as err:
            return self.words(err, path), None
        size = f"{image.shape[1]}x{image.shape[0]}"
        if whole:
            return f"warning: no face found ({size}): the whole image will be animated", image
        return f"ready: {len(boxes)} face(s) found ({size})", image

    def driving_status(self, path: Optional[str]) -> Tuple[str, Optional[str], Optional[str]]:
        """A chosen driving input: one line (frames, fps, sound; or a still picture; or the
        error) and its preview, ``(line, video path, picture path)`` (one of them ``None``)."""
        if not path:
            return "", None, None
        try:
            info = check_driving_video(path)
        except KitError as err:
            return self.words(err, path), None, None
        if info["still"]:
            width, height = info["size"]
            return (f"ready: a still picture ({width}x{height}): the portrait takes its "
                    "expression; the result is a picture (PNG)", None, path)
        frames, fps = info["frames"], info["fps"]
        length = f"{frames} frames, {frames / fps:.1f} s" if frames and fps else "length unknown"
        return (f"ready: {length} at {fps:g} fps, {'with' if info['audio'] else 'no'} sound",
                path, None)

    @staticmethod
    def words(err: BaseException, *paths: Optional[str]) -> str:
        """``err`` as the page says it: ``error: ...`` on one line, labels, file names."""
        files = {p: os.path.basename(p) for p in paths if p}
        return form.page_words(f"error: {err}", files)

    # -- jobs

    def run(self, source_image: Optional[str], driving_video: Optional[str],
            values: Dict[str, Any], session: str = "",
            progress: Optional[Callable[[str, int, Optional[int]], None]] = None) -> str:
        """Animate; return the result's path (``<root>/jobs/<id>/result.mp4``, or
        ``result.png`` when the driving input is a still picture).

        Raises:
            InputError: a missing or bad input or option (one line, the page's words).
            Cancelled: :meth:`cancel` was called for ``session``, or the server is stopping.
            KitError: other faults (a full disk...).
        """
        from ppgan_app.apps.expression_transfer.predictor import FirstOrderPredictor

        options = self._checked(source_image, driving_video, values)
        cancel = self._cancel.setdefault(session, threading.Event())
        cancel.clear()

        def on_progress(stage: str, done: int, total: Optional[int]) -> None:
            if cancel.is_set() or self._stopping.is_set():
                raise Cancelled("cancelled")
            if progress is not None:
                progress(stage, done, total)

        on_progress("waiting", 0, None)
        with self._run_lock:
            on_progress("starting", 0, None)
            from ppgan_app.utils.process import cpu_threads, set_thread_count

            set_thread_count(options.threads or cpu_threads())  # per thread in dygraph
            options = _with_output(options, new_job_folder(self.root))
            predictor = FirstOrderPredictor(options, animator=self.animator,
                                            enhancer=self._enhancer_for(options),
                                            face_upscaler=self._upscaler_for(options),
                                            on_progress=on_progress)
            start = time.perf_counter()
            summary = predictor.run_with_summary(source_image, driving_video)
            logger.info("job done: %d frames, %d face(s) in %.1f s", summary.frames,
                        summary.faces, time.perf_counter() - start)
            self._results[session] = summary.path
            return summary.path

    def last_result(self, session: str) -> Optional[str]:
        """The path of ``session``'s last finished job's result, if any."""
        return self._results.get(session)

    def _checked(self, source_image: Optional[str], driving_video: Optional[str],
                 values: Dict[str, Any]) -> TransferOptions:
        """A job's options, its inputs checked first (never the sample in their place)."""
        if not source_image:
            raise InputError("choose a portrait first (or click the sample under the inputs)")
        if not driving_video:
            raise InputError("choose a driving video or picture first (or click the sample "
                             "under the inputs)")
        check_driving_video(driving_video)
        return form.job_options(self.defaults, values, self.unavailable)

    def _enhancer_for(self, options: TransferOptions) -> Any:
        """GPEN (built once) when the job asks for face enhancement, else ``None``."""
        from ppgan_app.apps.expression_transfer.predictor import build_enhancer

        if not options.face_enhancement:
            return None
        if self._enhancer is None:
            self._enhancer = build_enhancer()
        return self._enhancer

    def _upscaler_for(self, options: TransferOptions) -> Any:
        """The SR network of the job's ``super_resolution`` factor (built once), or ``None``."""
        from ppgan_app.apps.super_resolution.faces import FaceUpscaler

        factor = options.super_resolution
        if not factor:
            return None
        if factor not in self._upscalers:
            self._upscalers[factor] = FaceUpscaler(factor, options.super_resolution_weights)
        return self._upscalers[factor]

    def cancel(self, session: str) -> None:
        """Stop ``session``'s running job at its next batch of frames."""
        event = self._cancel.get(session)
        if event is not None:
            event.set()

    def stop(self, timeout: float = 30.0) -> bool:
        """Cancel every job and wait for the running one to end; False if it did not."""
        self._stopping.set()
        if self._run_lock.acquire(timeout=timeout):
            self._run_lock.release()
            return True
        return False


def _with_output(options: TransferOptions, folder: Path) -> TransferOptions:
    import dataclasses

    return dataclasses.replace(options, output=str(folder), filename="result.mp4",
                               progress=False)


def _api_signature() -> inspect.Signature:
    """``animate(source_image, driving_video, <job options by name>, request, progress)``: the
    parameter names Gradio shows in the API page and ``gradio_client`` accepts."""
    import gradio as gr

    P = inspect.Parameter
    params = [P("source_image", P.POSITIONAL_OR_KEYWORD, annotation=str),
              P("driving_video", P.POSITIONAL_OR_KEYWORD, annotation=str)]
    for name in form.JOB_OPTIONS:
        f = TransferOptions.__dataclass_fields__[name]
        params.append(P(name, P.POSITIONAL_OR_KEYWORD, default=f.default))
    params.append(P("request", P.POSITIONAL_OR_KEYWORD, default=None, annotation=gr.Request))
    params.append(P("progress", P.POSITIONAL_OR_KEYWORD, default=gr.Progress()))
    return inspect.Signature(params)


def make_animate_fn(service: AnimateService) -> Callable[..., str]:
    """The Gradio function of the Animate button and of the ``/animate`` endpoint."""
    import gradio as gr

    signature = _api_signature()
    names = list(form.JOB_OPTIONS)

    def animate(*args: Any, **kwargs: Any) -> str:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        values = {n: bound.arguments[n] for n in names}
        source, driving = bound.arguments["source_image"], bound.arguments["driving_video"]
        request, bar = bound.arguments["request"], bound.arguments["progress"]
        stages = {"waiting": "waiting for the job before", "starting": "starting",
                  "driving": "reading the driving video",
                  "animating": "animating"}

        def progress(stage: str, done: int, total: Optional[int]) -> None:
            if total:
                bar((done, total), desc=stages.get(stage, stage), unit="frames")
            else:
                bar(None, desc=stages.get(stage, stage))

        session = getattr(request, "session_hash", None) or ""
        try:
            return service.run(source, driving, values, session, progress)
        except Cancelled:
            raise gr.Error("cancelled", print_exception=False) from None
        except KitError as err:
            raise gr.Error(service.words(err, source, driving), print_exception=False) from None
        except OSError as err:
            from ppgan_app.errors import describe_os_error

            raise gr.Error(f"error: {describe_os_error(err)}", print_exception=False) from None

    animate.__signature__ = signature  # type: ignore[attr-defined]
    animate.__annotations__ = {"request": gr.Request}
    animate.__name__ = "animate"
    return animate


def build_animate_tab(service: AnimateService) -> None:
    """The tab's layout and events (call inside ``gr.Blocks`` and ``gr.Tab``)."""
    import gradio as gr

    from ppgan_app.apps.expression_transfer.predictor import sample_paths

    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=300):
            with gr.Row(equal_height=False):
                with gr.Column(min_width=200):
                    # a file input, not gr.Image: Gradio's image input fails on an unreadable
                    # file before our check could say why; the preview is ours
                    source = gr.File(label="Portrait (an image file)", file_types=IMAGE_TYPES,
                                     type="filepath", elem_id="source-image", height=130)
                    preview = gr.Image(label="Portrait", interactive=False, height=250,
                                       elem_id="source-preview", show_label=False)
                    source_status = gr.Markdown(elem_id="source-status")
                with gr.Column(min_width=200):
                    # a file input too: a video or a still picture (gr.Video would refuse
                    # or fail to show a picture); the previews are ours
                    driving = gr.File(label="Driving video or picture (a face)",
                                      file_types=VIDEO_TYPES + IMAGE_TYPES, type="filepath",
                                      elem_id="driving-video", height=130)
                    driving_preview = gr.Video(label="Driving video", interactive=False,
                                               height=250, elem_id="driving-preview",
                                               show_label=False)
                    driving_picture = gr.Image(label="Driving picture", interactive=False,
                                               height=250, elem_id="driving-picture",
                                               show_label=False, visible=False)
                    driving_status = gr.Markdown(elem_id="driving-status")
            gr.Examples([list(sample_paths())], inputs=[source, driving],
                        label="The bundled sample (click to use it)", elem_id="examples")
            widgets = form.make_widgets(service.defaults, service.unavailable)
        with gr.Column(scale=2, min_width=300):
            with gr.Row():
                run = gr.Button("Animate", variant="primary", elem_id="run")
                stop = gr.Button("Cancel", variant="stop", elem_id="cancel")
            result = gr.Video(label="Result (with the driving video's sound)", elem_id="result",
                              interactive=False, height=420)
            picture = gr.Image(label="Result (the portrait with the picture's expression)",
                               elem_id="result-picture", interactive=False, height=420,
                               type="filepath", format="png", visible=False)
            download = gr.File(label="Download the result", elem_id="download",
                               interactive=False, visible=False)

    detector, no_face = widgets["face_detector"], widgets["no_face_ok"]
    for trigger in (source.change, detector.change, no_face.change):
        trigger(service.portrait_status, [source, detector, no_face], [source_status, preview],
                queue=False, show_progress="hidden", api_visibility="private")

    def show_driving(path: Optional[str]) -> Tuple[str, Any, Any]:
        line, video, still = service.driving_status(path)
        return (line, gr.Video(value=video, visible=still is None),
                gr.Image(value=still, visible=still is not None))

    driving.change(show_driving, driving, [driving_status, driving_preview, driving_picture],
                   queue=False, show_progress="hidden", api_visibility="private")
    # one chain: clear the last result, animate, show the new one (two listeners on the click
    # could run in either order and hide the new result). The job's output, and so the
    # /animate endpoint's, is the result file (a video, or a PNG for a still picture)
    clear = run.click(lambda: (gr.File(value=None, visible=False),
                               gr.Video(value=None, visible=True),
                               gr.Image(value=None, visible=False)),
                      None, [download, result, picture], queue=False,
                      api_visibility="private", show_progress="hidden")
    job = clear.then(make_animate_fn(service), [source, driving, *widgets.values()], download,
                     api_name="animate", show_progress_on=result)

    def show_result(request: Any = None) -> Tuple[Any, Any, Any]:
        # the path comes from the server's record of the session's job, not back from the
        # page (one less round trip that can lag behind)
        path = service.last_result(getattr(request, "session_hash", None) or "")
        still = path is not None and path.lower().endswith(".png")
        return (gr.Video(value=None if still else path, visible=not still),
                gr.Image(value=path if still else None, visible=still),
                gr.File(value=path, visible=path is not None))

    show_result.__annotations__ = {"request": gr.Request}
    job.success(show_result, None, [result, picture, download], api_visibility="private",
                queue=False)

    def cancel(request: Any = None) -> None:
        service.cancel(getattr(request, "session_hash", None) or "")

    cancel.__annotations__ = {"request": gr.Request}  # Gradio passes the request by its type

    stop.click(cancel, None, None, cancels=[job], queue=False, api_visibility="private")
