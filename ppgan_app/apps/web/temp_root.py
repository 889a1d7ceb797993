"""One temp folder per server process, removed when it stops and, after a crash, at the next start.

``<tmp>/ppgan-app-<pid>-<hex>/`` holds ``gradio/`` (Gradio's upload and result cache: the
command line points ``GRADIO_TEMP_DIR`` there before Gradio is imported) and ``jobs/<id>/``
(each Animate run's output folder; only the last :data:`KEEP_JOBS` are kept).
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Optional

logger = logging.getLogger(__name__)

#: Finished jobs whose folders are kept (the page may still be showing their video).
KEEP_JOBS = 8
#: The folder name of a server's temp root: ``ppgan-app-<pid>-<hex>``.
_ROOT_RE = re.compile(r"^ppgan-app-(\d+)-[0-9a-f]{8}$")


def make_root(parent: Optional[str] = None) -> Path:
    """A fresh temp root for this process; roots of dead servers in ``parent`` are removed."""
    parent_dir = Path(parent or tempfile.gettempdir())
    for entry in parent_dir.glob("ppgan-app-*"):
        match = _ROOT_RE.match(entry.name)
        if match and entry.is_dir() and not _alive(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)
            logger.info("removed %s left by a stopped server", entry)
    root = parent_dir / f"ppgan-app-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    (root / "gradio").mkdir(parents=True)
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


def new_job_folder(root: Path) -> Path:
    """A fresh ``<root>/jobs/<id>`` folder; the oldest beyond :data:`KEEP_JOBS` are removed."""
    jobs = root / "jobs"
    old = sorted(jobs.iterdir(), key=lambda p: p.stat().st_mtime)
    for folder in old[:max(0, len(old) - KEEP_JOBS + 1)]:
        shutil.rmtree(folder, ignore_errors=True)
    folder = jobs / uuid.uuid4().hex[:12]
    folder.mkdir()
    return folder
