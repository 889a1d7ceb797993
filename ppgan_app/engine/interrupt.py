"""Ctrl-C or SIGTERM during training: finish the current iteration, save, stop."""
from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any, Dict, Optional

from ppgan_app.errors import Terminated

logger = logging.getLogger(__name__)

#: The signals that ask training to stop, and what a second one raises at once.
STOP_SIGNALS: Dict[int, type] = {signal.SIGINT: KeyboardInterrupt, signal.SIGTERM: Terminated}


class GracefulStop:
    """Context manager: the first SIGINT or SIGTERM sets ``requested`` (and ``signal_name``);
    a second raises at once: ``KeyboardInterrupt`` for SIGINT, ``Terminated`` for SIGTERM.

    Only active when ``enabled`` and in the main thread (signal handlers live there);
    otherwise the signals act as before. The previous handlers are restored on exit.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self.requested = False
        self.signal_name: Optional[str] = None
        self._previous: Dict[int, Any] = {}

    def __enter__(self) -> "GracefulStop":
        if self.enabled:
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous = {}

    def _handle(self, signum: int, frame: Optional[FrameType]) -> None:
        name = signal.Signals(signum).name
        if self.requested:
            raise STOP_SIGNALS[signum](f"second stop signal ({name})")
        self.requested, self.signal_name = True, name
        logger.warning("%s: finishing this iteration, then saving a checkpoint "
                       "(send it again to stop at once)", name)
