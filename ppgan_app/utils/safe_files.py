"""Result files that appear only when complete: temp file in the same folder, then rename.

    with atomic_output("output/result.mp4") as tmp:   # tmp: output/.result.mp4.<pid>-<hex>.tmp.mp4
        write_everything_to(tmp)                       # any exception (or SIGINT/SIGTERM, see
                                                       # ppgan_app.utils.signals) removes tmp
    # here output/result.mp4 is the complete file; an earlier one was replaced only now

Temp names carry the writer's pid, so :func:`clean_stale_temps` can remove those left behind by
a killed process (SIGKILL leaves no chance to clean up) without touching a live run's files.
"""
from __future__ import annotations

import errno
import logging
import os
import re
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List, Union

from ppgan_app.errors import InputError, OutputError, describe_os_error

logger = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]

#: ``.<final name>.<pid>-<8 hex>.<tag><suffix>``: the shape of every temp name made here.
_TEMP_RE = re.compile(r"^\.(?P<base>.+)\.(?P<pid>\d+)-[0-9a-f]{8}\.[A-Za-z0-9_]+(?:\.[A-Za-z0-9]+)?$")


def temp_path(final: PathLike, tag: str = "tmp") -> Path:
    """A hidden, unique name next to ``final`` that keeps its extension (tools infer formats).

    ``output/result.mp4`` gives ``output/.result.mp4.<pid>-<hex>.<tag>.mp4``.
    """
    final = Path(final)
    return final.with_name(f".{final.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.{tag}{final.suffix}")


def remove_quietly(path: PathLike) -> None:
    """Delete a file or folder if it exists (used on error paths: never raises for a missing one)."""
    path = Path(path)
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()
    except FileNotFoundError:
        pass
    except OSError as err:
        logger.debug("could not remove %s: %s", path, err)


def check_destination(final: PathLike, what: str = "output file") -> Path:
    """Check, before any work, that ``final`` can be written: create its folder, refuse a
    folder in its place, and prove the folder writable with a probe file.

    Raises:
        InputError: ``final`` is a folder, or its folder cannot be created or written.
        OutputError: the disk is full (a fault of the machine, exit 1 as everywhere else).
    """
    final = Path(final)
    if final.is_dir():
        raise InputError(f"{what} {final} is a folder; choose a file name (or remove the folder)")
    folder = final.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(f"cannot create folder {folder}: a file of that name exists") from None
    except OSError as err:
        raise _destination_error(err, folder, "create folder") from None
    probe = temp_path(final, "probe")
    try:
        with open(probe, "wb") as handle:
            handle.write(b"0")
    except OSError as err:
        raise _destination_error(err, folder, "write to folder") from None
    finally:
        remove_quietly(probe)
    return final


def _destination_error(err: OSError, folder: Path, action: str) -> Exception:
    """A full disk is an ``OutputError`` (exit 1, as when it fills up later); anything else
    about the destination is the user's to fix (``InputError``, exit 2)."""
    if is_disk_full(err):
        return OutputError(describe_os_error(err, folder, action))
    return InputError(describe_os_error(err, folder, action))


def publish(tmp: PathLike, final: PathLike) -> Path:
    """Rename a finished temp file (or folder) onto ``final``, atomically on one file system.

    Raises:
        OutputError: the rename failed (the temp file is left for the caller to remove).
    """
    try:
        os.replace(tmp, final)
    except OSError as err:
        raise OutputError(describe_os_error(err, final)) from None
    return Path(final)


@contextmanager
def atomic_output(final: PathLike, tag: str = "tmp") -> Iterator[Path]:
    """Yield a temp path next to ``final``; on a clean exit rename it onto ``final``.

    On any exception (``KeyboardInterrupt`` and :class:`~ppgan_app.errors.Terminated`
    included) the temp file is deleted and ``final`` is untouched. An ``OSError`` from the body
    becomes an :class:`OutputError` naming the path and the cause (disk full, ...).

    Raises:
        OutputError: writing or publishing failed, or the body left no file at the temp path.
    """
    final = Path(final)
    tmp = temp_path(final, tag)
    try:
        try:
            yield tmp
        except OSError as err:
            raise OutputError(describe_os_error(err, final)) from None
        if not tmp.exists():
            raise OutputError(f"nothing was written for {final}")
        publish(tmp, final)
    finally:
        remove_quietly(tmp)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def clean_stale_temps(final: PathLike) -> List[Path]:
    """Remove temp files for ``final`` left by processes that no longer run; return them.

    Only names this module makes (``.<name>.<pid>-<hex>.<tag>...``) whose pid is gone are
    touched, so a concurrent run writing the same output keeps its files.
    """
    final = Path(final)
    return clean_stale_temps_matching(final.parent, re.compile(re.escape(final.name) + "$"))


def clean_stale_temps_matching(folder: PathLike, name: "re.Pattern[str]") -> List[Path]:
    """Like :func:`clean_stale_temps`, for every final name in ``folder`` that ``name`` matches
    at its start (``re.match``), e.g. all checkpoints of a run folder."""
    removed = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_RE.match(entry.name)
        if match and name.match(match.group("base")) and not _pid_alive(int(match.group("pid"))):
            remove_quietly(entry)
            removed.append(entry)
    if removed:
        logger.info("removed %d stale temp file(s) in %s left by a killed run", len(removed), folder)
    return removed


def is_disk_full(err: BaseException) -> bool:
    """True for ``ENOSPC`` (and quota exceeded), however deeply the library wrapped it."""
    while err is not None:
        if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        err = err.__cause__ or err.__context__
    return False
