"""Hide known noise that native libraries (Paddle's glog, paddle2onnx) print on the process's
own stdout/stderr, which Python's ``warnings`` and ``logging`` filters cannot reach.

    with quiet_native_output(("not support input out tensor for now",)):
        paddle.jit.save(static, path)

Everything written to file descriptors 1 and 2 inside the block is held in a temporary file and
written back afterwards, except the lines that contain one of the given phrases.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from typing import Iterator, Sequence


@contextlib.contextmanager
def quiet_native_output(phrases: Sequence[str], streams: Sequence[int] = (1, 2)) -> Iterator[None]:
    """Drop the lines containing any of ``phrases`` from what the block prints on ``streams``.

    Args:
        phrases: substrings of the lines to drop (all other lines are kept, in order per stream).
        streams: file descriptors to filter (1 = stdout, 2 = stderr).
    """
    saved = []
    for fd in streams:
        _flush(fd)
        holder = tempfile.TemporaryFile()
        saved.append((fd, os.dup(fd), holder))
        os.dup2(holder.fileno(), fd)
    try:
        yield
    finally:
        for fd, original, holder in saved:
            _flush(fd)
            os.dup2(original, fd)
            os.close(original)
            holder.seek(0)
            kept = [line for line in holder.read().splitlines(keepends=True)
                    if not any(phrase.encode() in line for phrase in phrases)]
            holder.close()
            if kept:
                os.write(fd, b"".join(kept))


def _flush(fd: int) -> None:
    """Flush Python's buffer of ``fd`` so that earlier output is not filtered or reordered."""
    stream = {1: sys.stdout, 2: sys.stderr}.get(fd)
    if stream is not None:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
