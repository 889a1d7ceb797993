"""SIGTERM behaves like Ctrl-C: it raises in the main thread, so ``finally`` blocks clean up.

``timeout``, ``docker stop`` and systemd stop a process with SIGTERM, whose default action ends
it at once, leaving temp files behind. Inside :func:`terminate_raises` SIGTERM raises
:class:`~ppgan_app.errors.Terminated` instead, and every ``with atomic_output(...)`` on the
stack removes its temp file on the way out. The CLI turns it into exit code 143.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from types import FrameType
from typing import Iterator, Optional

from ppgan_app.errors import Terminated


def _raise_terminated(signum: int, frame: Optional[FrameType]) -> None:
    raise Terminated(f"stopped by signal {signal.Signals(signum).name}")


def release_paddle_signals() -> None:
    """Undo Paddle's C++ signal handlers (call after ``import paddle``).

    Paddle installs its own SIGTERM handler, which prints a C++ traceback and aborts before any
    Python ``finally`` block runs; afterwards the Python handlers set here are re-armed.
    """
    import paddle

    paddle.disable_signal_handler()
    for signum in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(signum)
        if handler is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signum, handler)


@contextmanager
def terminate_raises() -> Iterator[None]:
    """For the duration, SIGTERM raises :class:`Terminated` (main thread only; else a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
