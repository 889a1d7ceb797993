"""One-slot hand-over between pipeline threads: nothing queues up.

A producer either replaces the waiting item (:meth:`LatestSlot.put`: the newest wins, for a
camera that cannot wait) or waits until the consumer took it (:meth:`LatestSlot.put_when_taken`:
for a stage whose work would be wasted if its result were dropped later)."""
from __future__ import annotations

import threading
import time
from typing import Any, Optional

CLOSED = object()      # what :meth:`LatestSlot.get` returns once the slot is closed and empty


class LatestSlot:
    """A queue of capacity one that never blocks its producer: a ``put`` on a full slot replaces
    the waiting item (counted in :attr:`dropped`). ``close`` ends the stream."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: Any = None
        self._full = False
        self._closed = False
        self.dropped = 0
        self.max_depth = 0          # the most items ever waiting at once (stays <= 1)

    def put(self, item: Any) -> None:
        """Hand ``item`` over, replacing an item nobody took yet."""
        with self._cond:
            if self._closed:
                return
            if self._full:
                self.dropped += 1
            self._item, self._full = item, True
            self.max_depth = max(self.max_depth, 1)
            self._cond.notify_all()

    def put_when_taken(self, item: Any, stop: Optional[Any] = None, poll: float = 0.05) -> None:
        """Hand ``item`` over once the waiting one was taken (or the slot closed, or the event
        ``stop`` set, when ``item`` is discarded)."""
        with self._cond:
            while self._full and not self._closed and not (stop is not None and stop.is_set()):
                self._cond.wait(poll)
            if self._closed or self._full:
                return
            self._item, self._full = item, True
            self.max_depth = max(self.max_depth, 1)
            self._cond.notify_all()

    def get(self, timeout: Optional[float] = None) -> Any:
        """The waiting item (blocking up to ``timeout`` s): ``None`` on timeout, :data:`CLOSED`
        when the slot is closed and empty."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._full:
                if self._closed:
                    return CLOSED
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
            item, self._item, self._full = self._item, None, False
            self._cond.notify_all()                 # a producer may wait for the slot
            return item

    def close(self) -> None:
        """No more items: waiting and later ``get`` calls return :data:`CLOSED` once empty."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed
