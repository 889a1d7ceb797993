"""The web app on Gradio: the Animate, Live and (with a GAN checkpoint) GAN tabs, served.

:func:`build_app` lays out the tabs from the services; :func:`serve` runs it until SIGINT or
SIGTERM with one temp folder per server (Gradio's uploads and cache included), a queue with
one job at a time and a bounded number waiting, and an upload size limit.
"""
from __future__ import annotations

import logging
import os
import shutil
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any, Optional

from ppgan_app.apps.expression_transfer.options import TransferOptions
from ppgan_app.apps.web.options import WebOptions
from ppgan_app.errors import InputError

logger = logging.getLogger(__name__)

#: Keep the page inside narrow windows (phones): no sideways scrolling, media scaled down.
CSS = """
html, body, .gradio-container { max-width: 100% !important; overflow-x: hidden; }
.gradio-container video, .gradio-container img { max-width: 100%; height: auto; }
#examples table { table-layout: fixed; width: 100%; }
#examples th, #examples td { overflow-wrap: anywhere; white-space: normal; }
"""
#: Seconds a stopping server waits for the running job to reach its next batch of frames.
STOP_WAIT = 30.0


class LockedEngine:
    """An engine whose calls take a lock: the Animate jobs and the Live tab share networks."""

    def __init__(self, engine: Any, lock: threading.Lock) -> None:
        self.inner = engine
        self._lock = lock

    def kp_detector(self, images: Any) -> Any:
        with self._lock:
            return self.inner.kp_detector(images)

    def generator(self, *args: Any) -> Any:
        with self._lock:
            return self.inner.generator(*args)


class SharedAnimator:
    """One set of networks used by the Animate jobs and the Live tab: one call at a time."""

    def __init__(self, animator: Any) -> None:
        self.inner = animator
        self.image_size = animator.image_size
        self.engine_name = getattr(animator, "engine_name", "")
        self.precision = getattr(animator, "precision", "fp32")
        self._lock = threading.Lock()
        inner_engine = getattr(animator, "engine", None)
        self.engine = None if inner_engine is None else LockedEngine(inner_engine, self._lock)

    def keypoints(self, frames: Any) -> Any:
        with self._lock:
            return self.inner.keypoints(frames)

    def animate(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return self.inner.animate(*args, **kwargs)


def build_app(animate: Any, live: Any = None, gan: Any = None) -> Any:
    """The ``gr.Blocks`` of the app from its services (``None``: no such tab)."""
    import gradio as gr

    from ppgan_app.apps.web.animate_tab import build_animate_tab

    with gr.Blocks(title="ppgan_app", delete_cache=(3600, 3600)) as demo:
        gr.Markdown("## ppgan_app: expression transfer (First Order Motion Model)")
        with gr.Tabs():
            with gr.Tab("Animate", id="animate"):
                build_animate_tab(animate)
            if live is not None:
                from ppgan_app.apps.web.live_tab import build_live_tab

                with gr.Tab("Live", id="live"):
                    build_live_tab(live)
            if gan is not None:
                from ppgan_app.apps.web.gan_tab import build_gan_tab

                with gr.Tab("GAN", id="gan"):
                    build_gan_tab(gan)
    return demo


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _check_port(host: str, port: int) -> None:
    """Raise :class:`InputError` when ``host:port`` cannot be bound (before Gradio tries)."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            sock.bind((host, port))
    except OSError as err:
        raise InputError(f"cannot listen on {host}:{port}: {err.strerror or err}; choose "
                         "another --port (0 picks a free one) or --host") from None


def check_share_reachable(timeout: float = 10.0) -> None:
    """Raise :class:`InputError` unless Gradio's share service answers (before any work)."""
    import urllib.error
    import urllib.request

    url = "https://api.gradio.app/v3/tunnel-request"  # gradio.networking.GRADIO_API_SERVER
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return
    except urllib.error.HTTPError:
        return  # it answered
    except (OSError, ValueError) as err:
        reason = getattr(err, "reason", None) or err
        raise InputError(f"--share needs internet: Gradio's share service ({url}) is not "
                         f"reachable from this machine ({reason}); run without --share, or use "
                         "an SSH tunnel (ssh -L 7860:127.0.0.1:7860 host)") from None


def live_service(web: WebOptions, defaults: TransferOptions, shared: SharedAnimator) -> Any:
    """The Live tab's service: the mobile model (or the Animate networks with ``same``)."""
    from ppgan_app.apps.web.live_tab import LiveService
    from ppgan_app.faces.detectors import build_face_detector

    def make_animator() -> Any:
        if web.live_model == "same":
            return shared
        from ppgan_app.apps.expression_transfer.fomm_animator import build_fomm_animator

        return build_fomm_animator(mobile_net=True, engine=defaults.engine,
                                   device=defaults.device, precision=defaults.precision)

    model = "vox-mobile" if web.live_model == "mobile" else "the Animate tab's model"
    return LiveService(make_animator, lambda: build_face_detector(defaults.face_detector),
                       model=model, adapt_scale=defaults.adapt_scale)


def serve(web: WebOptions, defaults: TransferOptions, animator: Any = None,
          parent: Optional[str] = None) -> int:
    """Serve until SIGINT/SIGTERM (raised as ``KeyboardInterrupt``/``Terminated``).

    Prints ``serving on http://HOST:PORT/`` once the app listens. Everything the server writes
    lives in one temp folder under ``parent`` (default: the system's), removed when it stops;
    folders of servers that died are removed at start.

    Raises:
        InputError: the address cannot be bound, the weights or the GAN checkpoint cannot be
            loaded, or ``share`` cannot create a public link (before serving).
    """
    from ppgan_app.apps.web.temp_root import make_root

    if web.share:
        check_share_reachable()
    host = web.host
    port = web.port or _free_port(host)
    _check_port(host, port)
    root = make_root(parent)
    # Gradio reads these when it is imported: its cache goes into our folder, and it never
    # calls home.
    os.environ["GRADIO_TEMP_DIR"] = str(root / "gradio")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # Gradio's own start-up checks
    if "gradio" in sys.modules:
        logger.debug("gradio was imported before serve(): its cache stays where it was")
    demo = None
    animate = None
    try:
        demo, animate = _build(web, defaults, animator, root)
        _, _, share_url = demo.launch(
            server_name=host, server_port=port, share=web.share, prevent_thread_lock=True,
            quiet=True, show_error=True, max_file_size=int(web.max_upload_mb * (1 << 20)),
            css=CSS, footer_links=["api"], inbrowser=False)
        if web.share and not share_url:
            raise InputError("--share could not create a public link (Gradio's message is "
                             "above); run without --share, or use an SSH tunnel (ssh -L "
                             "7860:127.0.0.1:7860 host)")
        if host not in ("127.0.0.1", "localhost", "::1"):
            logger.warning("listening on %s: anyone who can reach this machine can run jobs "
                           "(there is no login)", host)
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        print(f"serving on http://{shown}:{port}/ (Ctrl-C stops)", flush=True)
        if share_url:
            print(f"public link: {share_url}", flush=True)
        while True:
            time.sleep(0.5)
    finally:
        _shutdown(demo, animate, root)


def _build(web: WebOptions, defaults: TransferOptions, animator: Any, root: Path) -> Any:
    """The services (networks built now: missing weights stop the server) and the Blocks."""
    from ppgan_app.apps.expression_transfer.predictor import FirstOrderPredictor
    from ppgan_app.apps.web.animate_tab import AnimateService

    shared = SharedAnimator(animator or FirstOrderPredictor(defaults).animator)
    animate = AnimateService(defaults, root, animator=shared)
    gan = None
    if web.gan_checkpoint:
        from ppgan_app.apps.web.gan_tab import GanService

        gan = GanService(web.gan_checkpoint)
    live = live_service(web, defaults, shared)
    demo = build_app(animate, live, gan)
    demo.queue(default_concurrency_limit=1, max_size=web.queue_size)
    return demo, animate


def _shutdown(demo: Any, animate: Any, root: Path) -> None:
    """Cancel the running job, stop the server, remove the temp folder."""
    finished = animate.stop(STOP_WAIT) if animate is not None else True
    if demo is not None:
        try:
            demo.close()
        except (OSError, RuntimeError) as err:  # already closing
            logger.debug("closing the server: %s", err)
    shutil.rmtree(root, ignore_errors=True)
    if not finished:
        logger.warning("the running job did not stop within %.0f s", STOP_WAIT)
