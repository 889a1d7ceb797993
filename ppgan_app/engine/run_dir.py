"""Run folders: ``<output_dir>/<name>-<YYYYmmdd-HHMMSS>`` (suffixed ``-1``, ``-2`` on a clash)."""
from __future__ import annotations

import time
from pathlib import Path


def make_run_dir(output_dir: str | Path, name: str, create: bool = True) -> Path:
    """A new, empty run folder under ``output_dir`` (created when ``create``)."""
    base = Path(output_dir) / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 0
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    if create:
        path.mkdir(parents=True)
    return path
