"""Ctrl-C during training: finish the current iteration, save, stop."""
from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any, Optional

logger = logging.getLogger(__name__)


class GracefulStop:
    """Context manager: the first SIGINT sets ``requested``; a second raises KeyboardInterrupt.

    Only active when ``enabled`` and in the main thread (signal handlers live there);
    otherwise Ctrl-C raises KeyboardInterrupt as usual. The previous handler is restored.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self.requested = False
        self._previous: Any = None

    def __enter__(self) -> "GracefulStop":
        if self.enabled:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.enabled:
            signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum: int, frame: Optional[FrameType]) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        logger.warning("interrupt: finishing this iteration, then saving a checkpoint "
                       "(press Ctrl-C again to stop at once)")
