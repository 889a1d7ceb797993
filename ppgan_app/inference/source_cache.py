"""A small per-source cache: one entry per source image (face), least recently used dropped.

The fast engine encodes each source image once; with several faces the generator is called
for face 1, face 2, ... in turn, so a one-entry cache would miss on every call. Entries are
keyed by a digest of the image's bytes and shape and checked for equality on a hit, so a
different image never reuses another's features.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Callable

import numpy as np

DEFAULT_SOURCE_ENTRIES = 16     # faces kept; vox-256 features are 4 MB each


def array_key(array: np.ndarray) -> str:
    """Digest of a C-contiguous array's dtype, shape and bytes."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{array.dtype}:{array.shape};".encode())
    digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


class SourceCache:
    """Maps a source image to a value computed from it, keeping ``max_entries`` at most.

    Args:
        max_entries: entries kept (>= 1); the least recently used one is dropped first.
    """

    def __init__(self, max_entries: int = DEFAULT_SOURCE_ENTRIES) -> None:
        if int(max_entries) < 1:
            raise ValueError(f"max_entries must be >= 1, got {max_entries}")
        self.max_entries = int(max_entries)
        self._entries: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()   # twin engines (ppgan_app.apps.live) share one cache

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, source: np.ndarray, compute: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """``compute(source)``, from the cache when this exact source was seen recently."""
        with self._lock:
            return self._get(source, compute)

    def _get(self, source: np.ndarray, compute: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        key = array_key(source)
        entry = self._entries.get(key)
        if entry is not None and np.array_equal(entry[0], source):
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[1]
        self.misses += 1
        value = compute(source)
        self._entries[key] = (source.copy(), value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return value
