"""Streaming video input/output through the ffmpeg bundled with ``imageio-ffmpeg``.

Frames are RGB ``[H,W,3] uint8`` throughout. Nothing here holds a whole video in memory:
:class:`VideoReader` decodes one frame at a time and :class:`Mp4Writer` encodes one at a time into
a temporary file that is renamed to its final name only when everything succeeded.
"""
from __future__ import annotations

import logging
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Iterable, Iterator, Optional, Sequence, Tuple

import numpy as np

from ppgan_app.errors import ExternalToolError, InputError, OutputError
from ppgan_app.utils.safe_files import is_disk_full, publish, remove_quietly, temp_path

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


def is_still_image(path: str) -> bool:
    """True when ``path`` is one still picture (PNG, JPEG, BMP, ...; an animated GIF or WebP
    is a video)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return int(getattr(img, "n_frames", 1)) == 1
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        return False


class VideoReader:
    """Decode a video one frame at a time.

    Usage: ``reader = VideoReader(path)``, then ``reader.meta`` and ``for frame in reader``.
    Iterating again starts a new decode from the first frame. A still picture reads as a
    one-frame video (``reader.still`` is True).

    Raises:
        InputError: the file is missing, holds sound only, or ffmpeg cannot decode it as a
            video.
    """

    def __init__(self, path: str) -> None:
        if not os.path.isfile(path):
            raise InputError(f"driving video not found: {path}")
        self.path = path
        self.still = is_still_image(path)  #: a single picture, not a video
        self._count_checked = False
        gen = self._open()
        gen.close()

    def _open(self) -> Iterator:
        import imageio_ffmpeg

        gen = imageio_ffmpeg.read_frames(self.path, pix_fmt="rgb24")
        try:
            meta = next(gen)
        except (OSError, RuntimeError, StopIteration) as exc:
            gen.close()
            streams = probe_streams(self.path)
            if streams.has_audio and not streams.has_video:
                raise InputError(f"{self.path} has no video stream (sound only); the driving "
                                 "video must show a face") from None
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
        count = 0
        try:
            for raw in gen:
                yield np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3)
                count += 1
        except (OSError, RuntimeError) as exc:
            raise InputError(f"error while decoding {self.path}: {_last_line(str(exc))}") from None
        finally:
            gen.close()
        self._check_count(count)

    def _check_count(self, decoded: int) -> None:
        """Warn (once) when a full decode gave clearly fewer frames than the header declares."""
        declared = self.meta.n_frames
        if self._count_checked or not declared:
            return
        self._count_checked = True
        if decoded < declared - max(2, int(0.02 * declared)):
            logger.warning("%s declares about %d frames (duration x fps) but only %d could be "
                           "decoded: the file may be truncated; animating the %d frames found",
                           self.path, declared, decoded, decoded)


_FFMPEG_NOISE = re.compile(r"^(ffmpeg version|built with|configuration:|lib[a-z]+ +\d|Input #|Output #|"
                           r"Stream #|Metadata:|Duration:|Side data:|frame=|size=|=== stderr ===|"
                           r"Could not load meta information|Press \[q\]|Conversion failed!)")
_FFMPEG_TAG = re.compile(r"^\[[^\]]* @ 0x[0-9a-f]+\] *")


def ffmpeg_reason(text: str) -> str:
    """The one line of an ffmpeg error dump (banner and all) that says what went wrong: the
    last message a component logged (``[in#0 @ 0x...] Error opening input: ...``, tag removed),
    else the last line that is not banner, stream listing or progress. Text that is not an
    ffmpeg dump gives its first line."""
    lines = [ln.rstrip() for ln in str(text).splitlines() if ln.strip()]
    if not any(ln.startswith(("ffmpeg version", "=== stderr ===")) for ln in lines):
        return lines[0].strip() if lines else ""
    meaningful = [ln.strip() for ln in lines if not ln.startswith((" ", "\t"))
                  and not _FFMPEG_NOISE.match(ln.strip())]
    tagged = [ln for ln in meaningful if _FFMPEG_TAG.match(ln)]
    chosen = (tagged or meaningful or [""])[-1]
    return _FFMPEG_TAG.sub("", chosen)


def _last_line(text: str) -> str:
    """The line of ffmpeg's output that says what went wrong (never its banner)."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    if any(ln.startswith(("ffmpeg version", "=== stderr ===")) for ln in lines):
        return ffmpeg_reason(text)
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


def _even(n: int) -> int:
    return n + (n % 2)


def crf_for_quality(quality: float) -> int:
    """libx264 CRF for a quality on the 1..10 scale (imageio-ffmpeg's mapping: 7 gives CRF 15)."""
    if not 1.0 <= quality <= 10.0:
        raise ValueError(f"quality must be in [1, 10], got {quality}")
    return int((1.0 - quality / 10.0) * 51)


class FfmpegProcess:
    """An ffmpeg run whose failure is never silent: stdin for raw frames, stderr kept in a
    temp file, exit status checked by :meth:`close`.

    Args:
        args: ffmpeg arguments after the executable.
        target: the file ffmpeg writes (named in error messages).
        stdin: open a pipe for raw input.
    """

    def __init__(self, args: Sequence[str], target: str, stdin: bool = False) -> None:
        self.target = target
        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([ffmpeg_exe(), "-nostdin", "-y", "-loglevel", "error",
                                      *args], stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self._stderr)

    def write(self, data: bytes) -> None:
        """Send raw bytes to ffmpeg; a dead encoder raises its own reason."""
        try:
            self.proc.stdin.write(data)
        except OSError as exc:  # BrokenPipeError when ffmpeg died (disk full, bad args)
            self.proc.wait()
            raise self.failure(exc) from None

    def close(self) -> None:
        """Finish: close stdin, wait, and raise if ffmpeg failed."""
        try:
            if self.proc.stdin is not None and not self.proc.stdin.closed:
                try:
                    self.proc.stdin.close()
                except OSError as exc:
                    self.proc.wait()
                    raise self.failure(exc) from None
            if self.proc.wait() != 0:
                raise self.failure()
        finally:
            self._stderr.close()

    def kill(self) -> None:
        """Stop at once (error paths): nothing it wrote is kept by the caller."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        self._stderr.close()

    def stderr_text(self) -> str:
        try:
            self._stderr.seek(0)
            return self._stderr.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""

    def failure(self, cause: Optional[BaseException] = None) -> Exception:
        """The error to raise for a failed run: disk full is named as such."""
        text = self.stderr_text()
        if "No space left on device" in text or (cause is not None and is_disk_full(cause)):
            return OutputError(f"no space left on device at {self.target}; free some space "
                               "and run again")
        detail = _last_line(text) or (str(cause) if cause else f"exit status {self.proc.returncode}")
        return ExternalToolError(f"ffmpeg failed writing {self.target}: {detail}")


def run_ffmpeg(args: Sequence[str], target: str) -> None:
    """Run ffmpeg to completion; raise :class:`OutputError`/:class:`ExternalToolError` on failure."""
    FfmpegProcess(args, target).close()


class Mp4Writer:
    """Encode frames to an H.264 mp4 (yuv420p) and publish it atomically.

    Frames go to a hidden temporary file next to ``path``; :meth:`finish` checks ffmpeg's exit
    status, muxes the audio of ``audio_source`` (if given and present), checks that the result
    holds a video stream, and only then renames it to ``path``. Leaving the ``with`` block by
    any exception (Ctrl-C and SIGTERM included) kills the encoder and removes the temporary
    files, so no partial output appears and an earlier ``path`` is kept. Odd frame sizes are
    padded by one replicated row/column (H.264 needs even sizes).

    Args:
        path: final output file (``.mp4``).
        fps: frame rate of the output.
        quality: libx264 quality on imageio-ffmpeg's 1..10 scale.
    """

    def __init__(self, path: str, fps: float, quality: float = 7.0) -> None:
        self.path = path
        self.fps = float(fps)
        self.crf = crf_for_quality(quality)
        self._tmp_video = str(temp_path(path, "video"))
        self._encoder: Optional[FfmpegProcess] = None
        self._size: Optional[Tuple[int, int]] = None
        self.frames_written = 0

    def __enter__(self) -> "Mp4Writer":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()

    def _start(self, width: int, height: int) -> None:
        self._size = (width, height)
        args = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{_even(width)}x{_even(height)}",
                "-r", f"{self.fps:.6g}", "-i", "-", "-an", "-c:v", "libx264",
                "-pix_fmt", "yuv420p", "-crf", str(self.crf), "-f", "mp4", self._tmp_video]
        self._encoder = FfmpegProcess(args, self.path, stdin=True)

    def write(self, frame: np.ndarray) -> None:
        """Append one frame ``[H,W,3] uint8`` RGB (all frames must share one size)."""
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"expected [H,W,3] uint8, got {frame.shape} {frame.dtype}")
        height, width = frame.shape[:2]
        if self._encoder is None:
            self._start(width, height)
        elif (width, height) != self._size:
            raise ValueError(f"frame size {(width, height)} differs from {self._size}")
        pad_h, pad_w = _even(height) - height, _even(width) - width
        if pad_h or pad_w:
            frame = np.pad(frame, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
        self._encoder.write(np.ascontiguousarray(frame).tobytes())
        self.frames_written += 1

    def finish(self, audio_source: Optional[str] = None) -> str:
        """Close the encoder (checking it), mux audio from ``audio_source`` if it has any,
        check the result and publish ``path``.

        Returns:
            the final output path.

        Raises:
            OutputError: disk full or the file cannot be published.
            ExternalToolError: ffmpeg failed otherwise.
        """
        if self._encoder is None:
            raise ValueError("no frames were written")
        encoder, self._encoder = self._encoder, None
        result = self._tmp_video
        try:
            encoder.close()
            if audio_source is not None and probe_streams(audio_source).has_audio:
                result = str(temp_path(self.path, "mux"))
                mux_audio(self._tmp_video, audio_source, result, target=self.path)
            if not probe_streams(result).has_video:
                raise ExternalToolError(f"ffmpeg wrote no readable video for {self.path}")
            publish(result, self.path)
        finally:
            remove_quietly(self._tmp_video)
            if result != self._tmp_video:
                remove_quietly(result)
        return self.path

    def abort(self) -> None:
        """Stop encoding and delete the temporary file (the final path is never touched)."""
        if self._encoder is not None:
            self._encoder.kill()
            self._encoder = None
        remove_quietly(self._tmp_video)


def mux_audio(video_path: str, audio_source: str, out_path: str,
              target: Optional[str] = None) -> None:
    """Copy the video stream of ``video_path`` and the first audio stream of ``audio_source``
    (re-encoded to AAC) into ``out_path``, as long as the video.

    The audio is padded with silence (``apad``) before ``-shortest`` cuts it, so a sound track
    shorter than the video never drops frames. A missing audio stream is tolerated
    (``1:a:0?``): the output then has video only.

    Raises:
        OutputError: disk full (naming ``target``, the file the user asked for).
        ExternalToolError: ffmpeg failed otherwise (its last stderr line is in the message).
    """
    run_ffmpeg(["-i", video_path, "-i", audio_source, "-map", "0:v:0", "-map", "1:a:0?",
                "-c:v", "copy", "-c:a", "aac", "-af", "apad", "-shortest",
                "-movflags", "+faststart", "-f", "mp4", out_path], target or out_path)
