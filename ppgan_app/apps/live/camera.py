"""Frames from a camera, a stream URL, or a video file played as a camera would (OpenCV)."""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from ppgan_app.errors import InputError

logger = logging.getLogger(__name__)

FILE_FPS_FALLBACK = 25.0    # when a file does not state its frame rate


@dataclass(frozen=True)
class Captured:
    """One captured frame: ``index`` in the source, capture time (``time.perf_counter``),
    ``image [H,W,3] uint8`` RGB."""

    index: int
    time: float
    image: np.ndarray


class Camera:
    """Opens ``--camera``: a device number (``0``), a video file, or a stream URL.

    A file is played at its own frame rate from the moment :meth:`frames` starts, and frames
    whose time has passed are skipped (as a camera drops them), so a slow consumer sees the
    clip in real time; a device or a stream delivers at its own pace.

    Raises:
        InputError: the camera, file or URL cannot be opened.
    """

    def __init__(self, camera: str) -> None:
        import cv2

        self.spec = str(camera)
        self.is_file = os.path.isfile(self.spec)
        target: Any = int(self.spec) if self.spec.isdigit() else self.spec
        if not self.is_file and not self.spec.isdigit() and "://" not in self.spec:
            raise InputError(f"--camera {self.spec!r}: not a device number, a video file or a "
                             "stream URL (e.g. --camera 0)")
        self._capture = cv2.VideoCapture(target)
        if not self._capture.isOpened():
            raise InputError(f"--camera {self.spec}: cannot open it (no such device, or a file "
                             "or stream OpenCV cannot read)")
        fps = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if 1.0 <= fps <= 240.0 else FILE_FPS_FALLBACK
        self.skipped = 0            # file frames skipped because the reader fell behind

    def frames(self, stop: threading.Event, max_frames: int = 0) -> Iterator[Captured]:
        """Captured frames until the source ends, ``stop`` is set or ``max_frames`` (0: no
        limit) source frames have passed."""
        start = time.perf_counter()
        index = 0
        while not stop.is_set() and (max_frames <= 0 or index < max_frames):
            if self.is_file:
                due = start + index / self.fps
                now = time.perf_counter()
                if now > due + 1.0 / self.fps:          # behind: skip this frame undecoded
                    if not self._capture.grab():
                        return
                    self.skipped += 1
                    index += 1
                    continue
                if due > now:
                    stop.wait(due - now)
            ok, bgr = self._capture.read()
            if not ok:
                return
            yield Captured(index, time.perf_counter(), bgr[:, :, ::-1].copy())
            index += 1

    def close(self) -> None:
        self._capture.release()
