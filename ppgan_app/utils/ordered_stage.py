"""A bounded background stage: items run through one function on one worker thread, in order.

The expression-transfer pipeline uses it to composite and encode frames while the network
animates the next batch: at most ``max_pending`` items wait in the queue, so memory stays flat
however long the video; one worker thread keeps the submission order (no frame lost or
reordered). An error in the worker is raised again in the submitting thread, as it was (typed
errors stay typed), at the next ``submit`` or at ``close``. Leaving the ``with`` block because
of an exception (Ctrl-C, SIGTERM turned into an exception, an error in the network) drops the
items still queued and waits for the worker to stop, so the caller's own clean-up (deleting a
half-written file) runs only after the worker has let go of it.
"""
from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Callable, Generic, Optional, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")
_DONE = object()          # queue sentinel: no more items
_POLL_SECONDS = 0.1       # how often a blocked submit looks for a worker error


class OrderedStage(Generic[T]):
    """Run ``fn(item)`` for each submitted item on one background thread, in submission order.

    Args:
        fn: called once per item on the worker thread.
        max_pending: items that may wait in the queue (>= 1); ``submit`` blocks beyond that.
        name: the worker thread's name (shows in logs and debuggers).
    """

    def __init__(self, fn: Callable[[T], Any], max_pending: int = 2,
                 name: str = "ordered-stage") -> None:
        if max_pending < 1:
            raise ValueError(f"max_pending must be >= 1, got {max_pending}")
        self._fn = fn
        self._queue: "queue.Queue[Any]" = queue.Queue(maxsize=max_pending)
        self._error: Optional[BaseException] = None
        self._cancelled = threading.Event()
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._closed = False

    def __enter__(self) -> "OrderedStage[T]":
        self._thread.start()
        return self

    def submit(self, item: T) -> None:
        """Queue ``item`` (blocks while ``max_pending`` items wait); raises a worker error."""
        if self._closed:
            raise RuntimeError("submit after close")
        self._raise_worker_error()
        while True:
            try:
                self._queue.put(item, timeout=_POLL_SECONDS)
                return
            except queue.Full:
                self._raise_worker_error()

    def close(self) -> None:
        """Wait until every submitted item is done; raise the worker's error if it had one."""
        if not self._closed:
            self._closed = True
            self._queue.put(_DONE)
            self._thread.join()
        self._raise_worker_error()

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
            return
        self._cancelled.set()       # the worker skips what is still queued
        if not self._closed:
            self._closed = True
            self._queue.put(_DONE)
        self._thread.join()
        if self._error is not None:
            logger.debug("ordered stage also failed while cancelling: %r", self._error)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if self._error is not None or self._cancelled.is_set():
                continue            # drain without work so a blocked submit or close returns
            try:
                self._fn(item)
            except BaseException as err:  # noqa: BLE001 - handed to the submitting thread
                self._error = err

    def _raise_worker_error(self) -> None:
        if self._error is not None:
            raise self._error
