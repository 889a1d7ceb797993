"""The web app's work: uploads checked on arrival, and one job at a time from a queue.

Everything lives under one temp folder per server process (``<tmp>/ppgan-app-<pid>-<hex>``):
``uploads/`` holds checked uploads until a job takes them, ``jobs/<id>/`` a job's inputs and
result. A job's inputs are deleted when it ends; only the last :data:`KEEP_JOBS` jobs' results
are kept; the whole folder is removed when the server stops (and, after a SIGKILL, by the
next server started on the machine).
"""
from __future__ import annotations

import dataclasses
import logging
import os
import queue
import re
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from ppgan_app.apps.expression_transfer.options import TransferOptions
from ppgan_app.errors import InputError, KitError

logger = logging.getLogger(__name__)

#: Finished jobs whose results are kept (older ones are deleted with their folders).
KEEP_JOBS = 8
#: Checked uploads not yet used by a job that are kept (older ones are deleted).
KEEP_UPLOADS = 16
#: The folder name of a server's temp root: ``ppgan-app-<pid>-<hex>``.
_ROOT_RE = re.compile(r"^ppgan-app-(\d+)-[0-9a-f]{8}$")
UPLOAD_KINDS = ("source", "driving")


def one_line(text: object) -> str:
    """A message on one line, as the CLI prints it."""
    return " ".join(str(text).split())


def make_root(parent: Optional[str] = None) -> Path:
    """A fresh temp root for this process; roots of dead servers in ``parent`` are removed."""
    parent = Path(parent or tempfile.gettempdir())
    for entry in parent.glob("ppgan-app-*"):
        match = _ROOT_RE.match(entry.name)
        if match and entry.is_dir() and not _alive(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)
            logger.info("removed %s left by a stopped server", entry)
    root = parent / f"ppgan-app-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    (root / "uploads").mkdir(parents=True)
    (root / "jobs").mkdir()
    return root


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ----------------------------------------------------------------------------- uploads

def safe_suffix(filename: str, kind: str) -> str:
    """The file ending to store an upload under (its own, if short and plain)."""
    suffix = os.path.splitext(filename or "")[1].lower()
    if re.fullmatch(r"\.[a-z0-9]{1,5}", suffix):
        return suffix
    return ".jpg" if kind == "source" else ".mp4"


def check_upload(path: Path, kind: str) -> None:
    """Read an upload as the pipeline will (``InputError`` with the CLI's message if not)."""
    if kind == "source":
        from ppgan_app.apps.expression_transfer.predictor import read_source_image

        read_source_image(str(path))
    else:
        from ppgan_app.media.video import VideoReader

        if VideoReader(str(path)).still:
            raise InputError("the driving input is a still picture; the web app animates with "
                             "a video (first-order-demo.py turns a still into a picture)")


class Uploads:
    """Checked uploads by id (``<root>/uploads/<id><suffix>``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._files: Dict[str, Dict[str, Any]] = {}
        self._lock = threading.Lock()

    def add(self, data_file: Callable[[Path], None], filename: str, kind: str) -> str:
        """Store an upload written by ``data_file(path)``, check it, return its id.

        Raises:
            InputError: an unknown kind, or a file the pipeline cannot read (it is deleted).
        """
        if kind not in UPLOAD_KINDS:
            raise InputError(f"upload kind {kind!r} is not one of: {', '.join(UPLOAD_KINDS)}")
        upload_id = uuid.uuid4().hex
        path = self.folder / f"{upload_id}{safe_suffix(filename, kind)}"
        try:
            data_file(path)
            check_upload(path, kind)
        except InputError as err:  # name the user's file, not our temp copy
            path.unlink(missing_ok=True)
            raise InputError(str(err).replace(str(path), filename or "the upload")) from None
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        with self._lock:
            self._files[upload_id] = {"path": path, "kind": kind, "name": filename,
                                      "time": time.time()}
            self._evict()
        return upload_id

    def take(self, upload_id: Optional[str], kind: str, into: Path) -> Optional[Path]:
        """Move upload ``upload_id`` of ``kind`` into folder ``into``; ``None`` → ``None``.

        Raises:
            InputError: no such upload (expired or never made), or one of another kind.
        """
        if upload_id is None:
            return None
        with self._lock:
            entry = self._files.get(str(upload_id))
            if entry is None or entry["kind"] != kind:
                raise InputError(f"no {kind} upload {upload_id!r} (expired?); upload the file "
                                 "again")
            del self._files[str(upload_id)]
        target = into / f"{kind}{entry['path'].suffix}"
        shutil.move(str(entry["path"]), target)
        return target

    def _evict(self) -> None:
        for upload_id in sorted(self._files, key=lambda k: self._files[k]["time"])[:-KEEP_UPLOADS]:
            self._files.pop(upload_id)["path"].unlink(missing_ok=True)


# ----------------------------------------------------------------------------- jobs

@dataclass
class Job:
    """One expression-transfer run asked for by the page."""

    id: str
    folder: Path
    options: TransferOptions
    source: Optional[Path]  #: ``None``: the bundled sample
    driving: Optional[Path]
    state: str = "queued"  #: queued, running, done, failed
    stage: str = ""
    done: int = 0
    total: Optional[int] = None
    error: Optional[str] = None
    result: Optional[Path] = None
    seconds: float = 0.0
    info: Dict[str, Any] = field(default_factory=dict)

    def status(self, position: Optional[int]) -> Dict[str, Any]:
        """The JSON the page polls."""
        out = {"id": self.id, "state": self.state, "stage": self.stage, "done": self.done,
               "total": self.total, "error": self.error, "seconds": round(self.seconds, 2),
               **self.info}
        if position is not None:
            out["position"] = position
        if self.result is not None:
            out["result"] = f"/api/jobs/{self.id}/result"
        return out


#: Builds and runs one job: ``runner(job, on_progress) -> info dict`` (frames, fps, faces...).
Runner = Callable[[Job, Callable[[str, int, Optional[int]], None]], Dict[str, Any]]


class JobQueue:
    """Jobs run one at a time, in order, on one worker thread.

    Args:
        root: the server's temp root (see :func:`make_root`).
        runner: runs a job (the networks are shared between jobs by the runner).
        max_waiting: jobs that may wait at once; more is an :class:`InputError`.
    """

    def __init__(self, root: Path, runner: Runner, max_waiting: int = 8) -> None:
        self.root = root
        self.uploads = Uploads(root / "uploads")
        self._runner = runner
        self._max_waiting = max_waiting
        self._jobs: Dict[str, Job] = {}
        self._order: List[str] = []
        self._waiting: "queue.Queue[Optional[Job]]" = queue.Queue()
        self._lock = threading.Lock()
        self._worker = threading.Thread(target=self._work, name="ppgan-app-worker", daemon=True)
        self._worker.start()

    def submit(self, source: Optional[str], driving: Optional[str],
               options: TransferOptions) -> Job:
        """Queue a job on uploads ``source``/``driving`` (ids, or ``None`` for the sample).

        Raises:
            InputError: the queue is full, or an upload id is unknown.
        """
        with self._lock:
            waiting = sum(1 for j in self._jobs.values() if j.state == "queued")
        if waiting >= self._max_waiting:
            raise InputError(f"{waiting} jobs are already waiting; try again when one is done")
        job_id = uuid.uuid4().hex[:12]
        folder = self.root / "jobs" / job_id
        folder.mkdir()
        try:
            source_path = self.uploads.take(source, "source", folder)
            driving_path = self.uploads.take(driving, "driving", folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        job = Job(id=job_id, folder=folder, source=source_path, driving=driving_path,
                  options=dataclasses.replace(options, output=str(folder),
                                              filename="result.mp4", progress=False))
        with self._lock:
            self._jobs[job_id] = job
            self._order.append(job_id)
        self._waiting.put(job)
        logger.info("job %s queued", job_id)
        return job

    def get(self, job_id: str) -> Optional[Job]:
        with self._lock:
            return self._jobs.get(job_id)

    def status(self, job_id: str) -> Optional[Dict[str, Any]]:
        """A job's status with its place in the queue (1 = next), or ``None``."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            position = None
            if job.state == "queued":
                queued = [j for j in self._order if self._jobs[j].state == "queued"]
                position = queued.index(job_id) + 1
            return job.status(position)

    def close(self) -> None:
        """Stop the worker after its current job and delete every temp file."""
        self._waiting.put(None)
        self._worker.join(timeout=2.0)
        shutil.rmtree(self.root, ignore_errors=True)

    # -- worker

    def _work(self) -> None:
        while True:
            job = self._waiting.get()
            if job is None:
                return
            self._run(job)
            self._evict()

    def _run(self, job: Job) -> None:
        def on_progress(stage: str, done: int, total: Optional[int]) -> None:
            job.stage, job.done, job.total = stage, done, total

        start = time.perf_counter()
        job.state = "running"
        logger.info("job %s running", job.id)
        try:
            job.info = self._runner(job, on_progress)
            job.result = job.folder / job.options.filename
            job.state = "done"
        except KitError as err:
            job.error = f"error: {one_line(err)}"
            job.state = "failed"
        except Exception as err:  # noqa: BLE001 - a bug must not kill the worker thread
            logger.exception("job %s failed", job.id)
            job.error = (f"internal error: {type(err).__name__}: {one_line(err)} "
                         "(please report it)")
            job.state = "failed"
        finally:
            job.seconds = time.perf_counter() - start
            for path in (job.source, job.driving):
                if path is not None:
                    path.unlink(missing_ok=True)
        logger.info("job %s %s in %.1f s%s", job.id, job.state, job.seconds,
                    f": {job.error}" if job.error else "")

    def _evict(self) -> None:
        with self._lock:
            finished = [j for j in self._order if self._jobs[j].state in ("done", "failed")]
            for job_id in finished[:-KEEP_JOBS]:
                job = self._jobs.pop(job_id)
                self._order.remove(job_id)
                shutil.rmtree(job.folder, ignore_errors=True)
