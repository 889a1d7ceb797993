"""Run folders: ``<output_dir>/<name>-<YYYYmmdd-HHMMSS>`` (suffixed ``-1``, ``-2`` on a clash).

A run folder is created only when the run starts writing (see ``Trainer``), so a run that
fails while it is being set up leaves nothing behind; ``check_output_dir`` proves beforehand
that it can be created.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import List

from ppgan_app.errors import InputError, describe_os_error
from ppgan_app.utils.safe_files import remove_quietly, temp_path


def make_run_dir(output_dir: str | Path, name: str, create: bool = True) -> Path:
    """A new, empty run folder under ``output_dir`` (created when ``create``)."""
    base = Path(output_dir) / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    return create_run_dir(base) if create else _free_name(base)


def create_run_dir(path: str | Path) -> Path:
    """Create the folder ``path`` (or ``path-1``, ``path-2``... when taken); return it."""
    base = Path(path)
    candidate = _free_name(base)
    while True:
        try:
            candidate.mkdir(parents=True)
            return candidate
        except FileExistsError:  # another run took the name in between
            candidate = _free_name(base)


def _free_name(base: Path) -> Path:
    path, n = base, 0
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def check_output_dir(output_dir: str | Path) -> None:
    """Prove that run folders can be made under ``output_dir``; leave nothing behind.

    Creates the missing folders, writes and deletes a probe file, then removes the folders it
    created. Raises ``InputError`` (one line: the folder and the cause) when it cannot.
    """
    folder = Path(output_dir)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"output_dir {folder} is a file; set -o output_dir=<a folder>")
    created: List[Path] = []
    probe = temp_path(folder / "run", "probe")
    try:
        for parent in reversed([folder, *folder.parents]):
            if not parent.exists():
                parent.mkdir()
                created.append(parent)
        with open(probe, "wb") as handle:
            handle.write(b"0")
    except FileExistsError as err:
        raise InputError(f"cannot create output_dir {folder}: {err.filename} is a file; "
                         f"set -o output_dir=<a folder>") from None
    except OSError as err:
        raise InputError("output_dir: " + describe_os_error(err, folder, "write to")) from None
    finally:
        remove_quietly(probe)
        for path in reversed(created):
            remove_quietly(path)
