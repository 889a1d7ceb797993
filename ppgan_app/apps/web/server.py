"""A small web app for expression transfer: one static page and a JSON API on the stdlib server.

Routes (all JSON errors are ``{"error": "error: <the CLI's one-line message>"}``):

========================================  =====================================================
``GET /``                                 the page (``static/index.html``)
``GET /api/options``                      the options the page shows: name, help, kind,
                                          default, choices (from :class:`TransferOptions`)
``GET /api/sample/source``                the bundled portrait (shown when nothing is uploaded)
``POST /api/upload?kind=source&name=F``   raw file body; checked as the pipeline reads it;
                                          ``{"id": ...}``; 413 over the size limit
``POST /api/jobs``                        ``{"source": id|null, "driving": id|null,
                                          "options": {...}}`` → ``{"id": ...}``; ``null`` is the
                                          bundled sample
``GET /api/jobs/<id>``                    state, queue position, stage, done/total frames
``GET /api/jobs/<id>/result``             the mp4 (byte ranges for seeking;
                                          ``?download=1`` as an attachment)
``GET /api/gan``                          the GAN tab's model (``{"available": false}`` when
                                          the server was started without ``--gan_checkpoint``)
``POST /api/gan/grid``                    ``{"num", "seed", "truncation", "label"}`` → a PNG
                                          sample grid
``POST /api/gan/interpolate``             ``{"rows", "steps", "seed", "truncation", "label"}``
                                          → a PNG latent interpolation strip
========================================  =====================================================

The networks are built once per process and shared by every job; jobs run one at a time
(:class:`~ppgan_app.apps.web.jobs.JobQueue`).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

from ppgan_app.apps.expression_transfer.options import (TransferOptions, choices_of,
                                                        option_fields, value_kind)
from ppgan_app.apps.web.jobs import Job, JobQueue, make_root, one_line
from ppgan_app.errors import InputError, KitError, describe_os_error

logger = logging.getLogger(__name__)

#: Options the page offers for each job; their help, defaults and choices come from
#: :class:`TransferOptions` (defaults as the server was started, e.g. ``--relative``).
PAGE_OPTIONS = ("relative", "adapt_scale", "face_detector", "multi_person", "crop_driving",
                "smooth", "face_enhancement", "find_best_frame", "no_face_ok", "ratio", "audio")
#: Default upload limit in MiB (``--max_upload_mb``).
MAX_UPLOAD_MB = 64
#: Bytes of an over-limit upload read (and dropped) so the browser sees the 413 answer.
_DRAIN_LIMIT = 2 << 30
_CHUNK = 1 << 20


class ExpressionApp:
    """What the request handlers share: the options, the networks and the job queue.

    Args:
        options: the server's options (the page's defaults; the networks' choice).
        animator: networks to use instead of building them from ``options`` (tests).
        enhancer: GPEN to use for ``face_enhancement`` instead of building it on first use.
        max_upload_mb: largest upload accepted.
        max_waiting: jobs that may wait in the queue.
        temp_parent: where the temp root goes (default: the system's temp folder).
        gan: the GAN tab's generator (:class:`~ppgan_app.apps.web.gan_panel.GanPanel`), or
            None for no GAN tab.
    """

    def __init__(self, options: TransferOptions, animator: Any = None, enhancer: Any = None,
                 max_upload_mb: float = MAX_UPLOAD_MB, max_waiting: int = 8,
                 temp_parent: Optional[str] = None, gan: Any = None) -> None:
        if not max_upload_mb > 0:
            raise InputError(f"--max_upload_mb must be > 0, got {max_upload_mb}")
        if max_waiting < 1:
            raise InputError(f"--queue_size must be >= 1, got {max_waiting}")
        # Paddle keeps its dygraph state per thread and sets it up in the thread that imports
        # it: importing it first on the worker would leave this thread in static-graph mode.
        import paddle  # noqa: F401

        self.options = options
        self.max_upload = int(max_upload_mb * (1 << 20))
        self._animator = animator
        self._enhancer = enhancer
        self.gan = gan
        self.jobs = JobQueue(make_root(temp_parent), self._run_job, max_waiting)

    def warm_up(self) -> None:
        """Build the networks now (weights missing: the error comes at start, not per job)."""
        from ppgan_app.apps.expression_transfer.predictor import FirstOrderPredictor

        if self._animator is None:
            self._animator = FirstOrderPredictor(self.options).animator

    def close(self) -> None:
        self.jobs.close()

    # -- options

    def page_options(self) -> List[Dict[str, Any]]:
        """The page's option fields with this server's defaults."""
        from ppgan_app.apps.expression_transfer.predictor import check_enhancement_available

        out = []
        for f in option_fields():
            if f.name not in PAGE_OPTIONS:
                continue
            if f.name == "face_enhancement":
                try:
                    check_enhancement_available()
                except InputError:
                    continue
            kind = value_kind(f)
            out.append({"name": f.name, "help": f.metadata["help"],
                        "kind": kind.__name__ if kind else "str",
                        "default": getattr(self.options, f.name),
                        "choices": list(choices_of(f))})
        return out

    def job_options(self, values: Any) -> TransferOptions:
        """The server's options with the page's values (each checked as the CLI checks it).

        Raises:
            InputError: not a JSON object, an option the page does not offer, a bad value.
        """
        if values is None:
            values = {}
        if not isinstance(values, dict):
            raise InputError("options must be a JSON object")
        foreign = sorted(set(values) - set(PAGE_OPTIONS))
        if foreign:
            raise InputError(f"option(s) {', '.join(foreign)} cannot be set from the page; "
                             f"the page sets: {', '.join(PAGE_OPTIONS)}")
        return dataclasses.replace(self.options, **values)

    # -- running a job (on the worker thread)

    def _run_job(self, job: Job, on_progress: Callable[[str, int, Optional[int]], None]
                 ) -> Dict[str, Any]:
        from ppgan_app.apps.expression_transfer.predictor import (FirstOrderPredictor,
                                                                  build_enhancer)
        from ppgan_app.utils.process import cpu_threads, set_thread_count

        set_thread_count(self.options.threads or cpu_threads())  # per thread in dygraph
        self.warm_up()
        enhancer = None
        if job.options.face_enhancement:
            if self._enhancer is None:
                self._enhancer = build_enhancer()
            enhancer = self._enhancer
        predictor = FirstOrderPredictor(job.options, animator=self._animator, enhancer=enhancer,
                                        on_progress=on_progress)
        summary = predictor.run_with_summary(str(job.source) if job.source else None,
                                             str(job.driving) if job.driving else None)
        return {"frames": summary.frames, "fps": summary.fps, "faces": summary.faces,
                "audio": summary.audio}


# ----------------------------------------------------------------------------- HTTP

class Handler(BaseHTTPRequestHandler):
    """Routes requests to :class:`ExpressionApp` (set as ``app`` on a subclass)."""

    app: ExpressionApp
    server_version = "ppgan-app"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
        logger.debug("%s %s", self.address_string(), format % args)

    # -- routing

    def do_GET(self) -> None:  # noqa: N802 - stdlib's name
        url = urlsplit(self.path)
        job = re.fullmatch(r"/api/jobs/([0-9a-f]{1,32})(/result)?", url.path)
        if url.path in ("/", "/index.html"):
            page = resources.files("ppgan_app.apps.web") / "static" / "index.html"
            self._send(HTTPStatus.OK, page.read_bytes(), "text/html; charset=utf-8")
        elif url.path == "/api/options":
            self._json(HTTPStatus.OK, {"options": self.app.page_options(),
                                       "max_upload_mb": self.app.max_upload / (1 << 20)})
        elif url.path == "/api/sample/source":
            from ppgan_app.apps.expression_transfer.predictor import sample_paths

            self._send_file(Path(sample_paths()[0]), "image/jpeg")
        elif url.path == "/api/gan":
            self._json(HTTPStatus.OK, self.app.gan.info() if self.app.gan else {"available": False})
        elif job and job.group(2):
            self._result(job.group(1), "download" in parse_qs(url.query))
        elif job:
            status = self.app.jobs.status(job.group(1))
            if status is None:
                self._error(HTTPStatus.NOT_FOUND, f"no job {job.group(1)} (finished jobs are "
                                                  "kept only for a while)")
            else:
                self._json(HTTPStatus.OK, status)
        else:
            self._error(HTTPStatus.NOT_FOUND, f"no page {url.path}")

    def do_POST(self) -> None:  # noqa: N802 - stdlib's name
        url = urlsplit(self.path)
        try:
            if url.path == "/api/upload":
                self._upload(parse_qs(url.query))
            elif url.path == "/api/jobs":
                self._submit()
            elif url.path in ("/api/gan/grid", "/api/gan/interpolate"):
                self._gan_image(url.path.rsplit("/", 1)[1])
            else:
                self._error(HTTPStatus.NOT_FOUND, f"no page {url.path}")
        except InputError as err:
            self._error(HTTPStatus.BAD_REQUEST, f"error: {one_line(err)}")
        except KitError as err:  # a fault of the machine: the CLI's line, exit code 1's kind
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"error: {one_line(err)}")
        except ConnectionError:
            raise  # the browser went away: nobody to answer
        except OSError as err:  # a full disk while storing an upload
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"error: {describe_os_error(err)}")
        except Exception as err:  # noqa: BLE001 - the page gets one line, the log the details
            logger.error("%s %s failed", self.command, url.path, exc_info=True)
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR,
                        f"internal error: {type(err).__name__}: {one_line(err)} (please report it)")

    # -- handlers

    def _length(self) -> int:
        text = self.headers.get("Content-Length")
        if text is None or not text.isdigit():
            raise InputError("the request has no Content-Length; send the file as the body")
        return int(text)

    def _upload(self, query: Dict[str, List[str]]) -> None:
        kind = (query.get("kind") or [""])[0]
        name = (query.get("name") or [""])[0]
        length = self._length()
        if length > self.app.max_upload:
            self._drain(length)
            limit = self.app.max_upload / (1 << 20)
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                        f"error: {name or 'the upload'} is {length / (1 << 20):.1f} MB, more "
                        f"than this server's limit of {limit:g} MB; use a shorter or smaller "
                        "file (or start the server with a larger --max_upload_mb)")
            return
        if length == 0:
            raise InputError(f"{name or 'the upload'} is empty")

        def write(path: Path) -> None:
            with open(path, "wb") as handle:
                left = length
                while left:
                    data = self.rfile.read(min(_CHUNK, left))
                    if not data:
                        raise InputError(f"the upload of {name} stopped before its end")
                    handle.write(data)
                    left -= len(data)

        upload_id = self.app.jobs.uploads.add(write, name, kind)
        self._json(HTTPStatus.OK, {"id": upload_id, "name": name, "kind": kind})

    def _json_body(self, what: str) -> Dict[str, Any]:
        """The request's JSON object (at most 64 KiB)."""
        length = self._length()
        if length > 1 << 16:
            raise InputError(f"the {what} is too large")
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise InputError(f"the {what} is not JSON") from None
        if not isinstance(body, dict):
            raise InputError(f"the {what} must be a JSON object")
        return body

    def _gan_image(self, kind: str) -> None:
        body = self._json_body("GAN request")
        if self.app.gan is None:
            self._error(HTTPStatus.NOT_FOUND, "error: this server has no GAN tab; start it with "
                                              "--gan_checkpoint <a GAN training checkpoint>")
            return
        make = self.app.gan.grid_png if kind == "grid" else self.app.gan.interpolation_png
        self._send(HTTPStatus.OK, make(body), "image/png")

    def _submit(self) -> None:
        body = self._json_body("job request")
        options = self.app.job_options(body.get("options"))
        job = self.app.jobs.submit(body.get("source"), body.get("driving"), options)
        self._json(HTTPStatus.OK, {"id": job.id})

    def _result(self, job_id: str, download: bool) -> None:
        job = self.app.jobs.get(job_id)
        if job is None or job.result is None or not job.result.is_file():
            self._error(HTTPStatus.NOT_FOUND, f"job {job_id} has no result (yet)")
            return
        name = "ppgan_app_result.mp4" if download else None
        try:
            self._send_file(job.result, "video/mp4", attachment=name)
        except FileNotFoundError:  # removed meanwhile (an old job, or the server stopping)
            self._error(HTTPStatus.NOT_FOUND, f"job {job_id} has no result any more")

    # -- responses

    def _drain(self, length: int) -> None:
        left = min(length, _DRAIN_LIMIT)
        while left:
            data = self.rfile.read(min(_CHUNK, left))
            if not data:
                return
            left -= len(data)

    def _send(self, status: int, body: bytes, content_type: str,
              headers: Optional[Dict[str, str]] = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": message})

    def _send_file(self, path: Path, content_type: str, attachment: Optional[str] = None) -> None:
        """Send a file, or the byte range the ``Range`` header asks for (video seeking).

        Raises:
            FileNotFoundError: ``path`` is gone (before anything was sent).
        """
        handle = open(path, "rb")  # opened first: a file removed now is a 404, not half an answer
        with handle:
            self._send_open_file(handle, os.fstat(handle.fileno()).st_size, content_type,
                                 attachment)

    def _send_open_file(self, handle: Any, size: int, content_type: str,
                        attachment: Optional[str]) -> None:
        start, end = parse_range(self.headers.get("Range"), size)
        headers = {"Accept-Ranges": "bytes"}
        if attachment:
            headers["Content-Disposition"] = f'attachment; filename="{attachment}"'
        status = HTTPStatus.OK
        if (start, end) != (0, size - 1):
            status = HTTPStatus.PARTIAL_CONTENT
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(end - start + 1))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        handle.seek(start)
        left = end - start + 1
        while left > 0:
            data = handle.read(min(_CHUNK, left))
            if not data:
                break
            self.wfile.write(data)
            left -= len(data)


def parse_range(header: Optional[str], size: int) -> Tuple[int, int]:
    """``(first, last)`` byte of a ``Range: bytes=a-b`` header within ``size`` bytes; the whole
    file for no header or one this server does not serve (several ranges, a bad one)."""
    whole = (0, max(size - 1, 0))
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", (header or "").strip())
    if not match or size == 0 or match.group(1) == match.group(2) == "":
        return whole
    first, last = match.groups()
    if first == "":  # the last N bytes
        return max(size - int(last), 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    return whole if start > end else (start, end)


class _Server(ThreadingHTTPServer):
    """The stdlib threading server, quiet about browsers that hang up (video seeking)."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):  # a closed tab, an aborted range request
            logger.debug("client %s went away: %s", client_address, error)
            return
        logger.error("request from %s failed", client_address, exc_info=True)


def make_server(app: ExpressionApp, host: str = "127.0.0.1", port: int = 7860
                ) -> ThreadingHTTPServer:
    """An HTTP server for ``app`` bound to ``host:port`` (port 0: a free one).

    Raises:
        InputError: the address cannot be bound (in use, not this machine's, no permission).
    """
    handler = type("BoundHandler", (Handler,), {"app": app})
    try:
        server = _Server((host, port), handler)
    except OSError as err:
        raise InputError(f"cannot listen on {host}:{port}: {err.strerror or err}; choose "
                         "another --port (0 picks a free one) or --host") from None
    return server
