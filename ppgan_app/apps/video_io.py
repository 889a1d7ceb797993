"""Streaming video input/output through the ffmpeg bundled with ``imageio-ffmpeg``.

Frames are RGB ``[H,W,3] uint8`` throughout. Nothing here holds a whole video in memory:
:func:`iter_frames` decodes one frame at a time and :class:`Mp4Writer` encodes one at a time into
a temporary file that is renamed to its final name only when everything succeeded.
"""
from __future__ import annotations

import logging
import os
import re
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from typing import Iterable, Iterator, Optional, Tuple

import numpy as np

from ppgan_app.apps.errors import InputError

logger = logging.getLogger(__name__)


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary bundled with imageio-ffmpeg."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@dataclass(frozen=True)
class StreamInfo:
    """What ``ffmpeg -i`` reports about a media file.

    Attributes:
        has_video: a video stream exists.
        has_audio: an audio stream exists.
        duration: seconds, or ``None`` when ffmpeg does not say.
    """

    has_video: bool
    has_audio: bool
    duration: Optional[float]


def probe_streams(path: str) -> StreamInfo:
    """Ask the bundled ffmpeg which streams ``path`` holds (parses ``ffmpeg -i`` stderr)."""
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", path],
                          capture_output=True, text=True, errors="replace")
    text = proc.stderr
    stream_lines = [ln for ln in text.splitlines() if ln.strip().startswith("Stream #")]
    duration = None
    match = re.search(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)", text)
    if match:
        h, m, s = match.groups()
        duration = int(h) * 3600 + int(m) * 60 + float(s)
    return StreamInfo(has_video=any("Video:" in ln for ln in stream_lines),
                      has_audio=any("Audio:" in ln for ln in stream_lines),
                      duration=duration)


@dataclass(frozen=True)
class VideoMeta:
    """Frame rate and size of a video, from the decoder.

    Attributes:
        fps: frames per second.
        size: ``(width, height)`` of the decoded frames (after any rotation tag).
        n_frames: estimated frame count (``duration * fps``), ``None`` when unknown.
    """

    fps: float
    size: Tuple[int, int]
    n_frames: Optional[int]


class VideoReader:
    """Decode a video one frame at a time.

    Usage: ``reader = VideoReader(path)``, then ``reader.meta`` and ``for frame in reader``.
    Iterating again starts a new decode from the first frame.

    Raises:
        InputError: the file is missing or ffmpeg cannot decode it as a video.
    """

    def __init__(self, path: str) -> None:
        if not os.path.isfile(path):
            raise InputError(f"driving video not found: {path}")
        self.path = path
        gen = self._open()
        gen.close()

    def _open(self) -> Iterator:
        import imageio_ffmpeg

        gen = imageio_ffmpeg.read_frames(self.path, pix_fmt="rgb24")
        try:
            meta = next(gen)
        except (OSError, RuntimeError, StopIteration) as exc:
            gen.close()
            raise InputError(f"cannot read {self.path} as a video "
                             f"({_last_line(str(exc)) or type(exc).__name__})") from None
        width, height = meta["size"]
        fps = float(meta.get("fps") or 0.0)
        if fps <= 0 or not np.isfinite(fps):
            fps = 25.0
            logger.warning("%s has no frame rate; assuming 25 fps", self.path)
        duration = meta.get("duration")
        n_frames = int(round(duration * fps)) if duration else None
        self.meta = VideoMeta(fps=fps, size=(int(width), int(height)), n_frames=n_frames)
        return gen

    def __iter__(self) -> Iterator[np.ndarray]:
        """Yield frames ``[H,W,3] uint8`` RGB, in order."""
        gen = self._open()
        width, height = self.meta.size
        try:
            for raw in gen:
                yield np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3)
        except (OSError, RuntimeError) as exc:
            raise InputError(f"error while decoding {self.path}: {_last_line(str(exc))}") from None
        finally:
            gen.close()


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def iter_chunks(frames: Iterable[np.ndarray], chunk_size: int) -> Iterator[np.ndarray]:
    """Group single frames into chunks ``[n,H,W,3] uint8`` with ``1 <= n <= chunk_size``."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    buf = []
    for frame in frames:
        buf.append(frame)
        if len(buf) == chunk_size:
            yield np.stack(buf)
            buf = []
    if buf:
        yield np.stack(buf)


def check_writable_dir(folder: str) -> None:
    """Create ``folder`` if needed and check that files can be written in it.

    Raises:
        InputError: the folder cannot be created or written.
    """
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as exc:
        reason = exc.strerror or exc
        raise InputError(f"cannot write to output folder {folder!r}: {reason}") from None


def _even(n: int) -> int:
    return n + (n % 2)


class Mp4Writer:
    """Encode frames to an H.264 mp4 (yuv420p) and publish it atomically.

    Frames go to a hidden temporary file next to ``path``; :meth:`finish` muxes the audio of
    ``audio_source`` (if given and present) and renames the result to ``path``. Leaving the
    ``with`` block because of an exception removes the temporary files, so no partial output is
    left behind. Odd frame sizes are padded by one replicated row/column (H.264 needs even sizes).

    Args:
        path: final output file (``.mp4``).
        fps: frame rate of the output.
        quality: libx264 quality on imageio-ffmpeg's 0..10 scale.
    """

    def __init__(self, path: str, fps: float, quality: float = 7.0) -> None:
        self.path = path
        self.fps = float(fps)
        self.quality = quality
        self._tmp_video = _temp_name(path, "video")
        self._gen = None
        self._size: Optional[Tuple[int, int]] = None
        self.frames_written = 0

    def __enter__(self) -> "Mp4Writer":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()

    def _start(self, width: int, height: int) -> None:
        import imageio_ffmpeg

        self._size = (width, height)
        self._gen = imageio_ffmpeg.write_frames(
            self._tmp_video, (_even(width), _even(height)), fps=self.fps, codec="libx264",
            pix_fmt_out="yuv420p", quality=self.quality, macro_block_size=1,
            ffmpeg_log_level="error")
        self._gen.send(None)

    def write(self, frame: np.ndarray) -> None:
        """Append one frame ``[H,W,3] uint8`` RGB (all frames must share one size)."""
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"expected [H,W,3] uint8, got {frame.shape} {frame.dtype}")
        height, width = frame.shape[:2]
        if self._gen is None:
            self._start(width, height)
        elif (width, height) != self._size:
            raise ValueError(f"frame size {(width, height)} differs from {self._size}")
        pad_h, pad_w = _even(height) - height, _even(width) - width
        if pad_h or pad_w:
            frame = np.pad(frame, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
        self._gen.send(np.ascontiguousarray(frame))
        self.frames_written += 1

    def finish(self, audio_source: Optional[str] = None) -> str:
        """Close the encoder, mux audio from ``audio_source`` if it has any, publish ``path``.

        Returns:
            the final output path.
        """
        if self._gen is None:
            raise ValueError("no frames were written")
        self._gen.close()
        self._gen = None
        try:
            if audio_source is not None and probe_streams(audio_source).has_audio:
                tmp_muxed = _temp_name(self.path, "mux")
                try:
                    mux_audio(self._tmp_video, audio_source, tmp_muxed)
                    os.replace(tmp_muxed, self.path)
                finally:
                    _remove_quietly(tmp_muxed)
            else:
                os.replace(self._tmp_video, self.path)
        finally:
            _remove_quietly(self._tmp_video)
        return self.path

    def abort(self) -> None:
        """Stop encoding and delete the temporary file (the final path is never touched)."""
        if self._gen is not None:
            try:
                self._gen.close()
            except (OSError, RuntimeError) as exc:
                logger.debug("closing the encoder after an error: %s", exc)
            self._gen = None
        _remove_quietly(self._tmp_video)


def mux_audio(video_path: str, audio_source: str, out_path: str) -> None:
    """Copy the video stream of ``video_path`` and the first audio stream of ``audio_source``
    (re-encoded to AAC) into ``out_path``, as long as the video.

    The audio is padded with silence (``apad``) before ``-shortest`` cuts it, so a sound track
    shorter than the video never drops frames. A missing audio stream is tolerated
    (``1:a:0?``): the output then has video only.

    Raises:
        RuntimeError: ffmpeg failed (its last stderr line is in the message).
    """
    cmd = [ffmpeg_exe(), "-y", "-loglevel", "error", "-i", video_path, "-i", audio_source,
           "-map", "0:v:0", "-map", "1:a:0?", "-c:v", "copy", "-c:a", "aac", "-af", "apad",
           "-shortest",
           "-f", "mp4", out_path]
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg could not mux the audio: {_last_line(proc.stderr)}")


def _temp_name(path: str, tag: str) -> str:
    """A hidden, unique file name next to ``path`` (created by ffmpeg, so the umask applies)."""
    folder, base = os.path.split(os.path.abspath(path))
    return os.path.join(folder, f".{base}.{os.getpid()}-{uuid.uuid4().hex[:8]}.{tag}.mp4")


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
