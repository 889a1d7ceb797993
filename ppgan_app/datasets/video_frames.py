"""Reading videos stored as files (.mp4/.gif/.mov) or as folders of frames (.png/.jpg).

Every reader returns frames as ``[H, W, 3]`` uint8 RGB arrays. The frames of a folder are
in temporal order: by number when every file stem is a number (FOMM's ``0.png ... 99.png``
and zero-padded names alike), otherwise by file name.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Dict, Iterable, List, Sequence, Tuple

import cv2
import imageio
import numpy as np

from ppgan_app.errors import InputError
from ppgan_app.media.video import ffmpeg_reason

logger = logging.getLogger(__name__)

VIDEO_EXTENSIONS = (".mp4", ".gif", ".mov")
FRAME_EXTENSIONS = (".png", ".jpg", ".jpeg")


def is_video_entry(path: Path) -> bool:
    """A video file by suffix, or a (non-hidden) folder; folders are checked when read."""
    if path.name.startswith("."):
        return False
    return path.is_dir() or (path.is_file() and path.suffix.lower() in VIDEO_EXTENSIONS)


def list_videos(folder: Path) -> List[Path]:
    """The video entries of ``folder`` (files and frames folders), sorted by name."""
    return sorted(p for p in folder.iterdir() if is_video_entry(p))


def _frame_sort_key(path: Path) -> Tuple[int, str]:
    stem = path.stem
    return (int(stem), stem) if stem.isdigit() else (-1, stem)


def frame_files(folder: Path) -> List[Path]:
    """Image files of a frames folder in temporal order; an empty folder is an error."""
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in FRAME_EXTENSIONS]
    if not files:
        raise FileNotFoundError(f"frames folder {folder} holds no {'/'.join(FRAME_EXTENSIONS)} images")
    if all(p.stem.isdigit() for p in files):
        return sorted(files, key=_frame_sort_key)
    return sorted(files)


def to_rgb(frame: np.ndarray) -> np.ndarray:
    """``[H, W]``, ``[H, W, 1]``, ``[H, W, 3]`` or ``[H, W, 4]`` -> ``[H, W, 3]`` uint8 (alpha dropped)."""
    if frame.dtype != np.uint8:
        frame = np.clip(frame, 0, 255).astype(np.uint8)
    if frame.ndim == 2:
        frame = frame[:, :, None]
    if frame.shape[2] == 1:
        return np.repeat(frame, 3, axis=2)
    return np.ascontiguousarray(frame[:, :, :3])


def read_image(path: Path) -> np.ndarray:
    """One frame file -> ``[H, W, 3]`` uint8 RGB."""
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise OSError(f"cannot read frame {path}")
    if img.ndim == 3 and img.shape[2] >= 3:
        img = cv2.cvtColor(img[:, :, :3], cv2.COLOR_BGR2RGB)
    return to_rgb(img)


def resize_frame(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    """``[h, w, 3]`` uint8 -> ``[height, width, 3]`` uint8 (area filter when shrinking)."""
    if frame.shape[:2] == (height, width):
        return frame
    shrink = frame.shape[0] > height or frame.shape[1] > width
    flag = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return cv2.resize(frame, (width, height), interpolation=flag)


#: ffmpeg output that never says what went wrong: its banner, stream listings, progress.
def _unreadable(path: Path, err: Exception) -> InputError:
    return InputError(f"cannot read video {path}: {ffmpeg_reason(str(err)) or type(err).__name__}; "
                      f"replace or remove the file")


def count_video_frames(path: Path) -> int:
    """Number of frames of a video file (ffmpeg counts packets without decoding them).

    Raises:
        InputError: the file is not a readable video (ffmpeg's reason in one line).
    """
    try:
        reader = imageio.get_reader(str(path))
        try:
            count = reader.count_frames() if hasattr(reader, "count_frames") else reader.get_length()
        finally:
            reader.close()
    except (OSError, RuntimeError, ValueError) as err:
        raise _unreadable(path, err) from None
    if not np.isfinite(count) or int(count) < 1:
        raise InputError(f"video {path} has no frames (count {count}); replace or remove the file")
    return int(count)


def iter_video_frames(path: Path) -> Iterable[np.ndarray]:
    """Decode a video file frame by frame: ``[H, W, 3]`` uint8 RGB.

    Raises:
        InputError: the file is not a readable video (ffmpeg's reason in one line).
    """
    try:
        reader = imageio.get_reader(str(path))
    except (OSError, RuntimeError, ValueError) as err:
        raise _unreadable(path, err) from None
    try:
        for frame in reader:
            yield to_rgb(np.asarray(frame))
    except (OSError, RuntimeError) as err:
        raise _unreadable(path, err) from None
    finally:
        reader.close()


def read_video_frames(path: Path, indices: Sequence[int]) -> List[np.ndarray]:
    """Frames ``indices`` (any order, repeats allowed) of a video file or frames folder.

    A frames folder reads only the files asked for; a video file is decoded up to the last
    index asked for and no further.
    """
    if path.is_dir():
        files = frame_files(path)
        return [read_image(files[i]) for i in indices]
    wanted = set(int(i) for i in indices)
    last = max(wanted)
    found: Dict[int, np.ndarray] = {}
    for t, frame in enumerate(iter_video_frames(path)):
        if t in wanted:
            found[t] = frame
        if t >= last:
            break
    missing = sorted(wanted - set(found))
    if missing:
        raise OSError(f"video {path} ended before frame(s) {missing}")
    return [found[int(i)] for i in indices]


def read_whole_video(path: Path, max_frames: int | None = None) -> List[np.ndarray]:
    """Every frame (or the first ``max_frames``) of a video file or frames folder."""
    if path.is_dir():
        files = frame_files(path)[:max_frames]
        return [read_image(f) for f in files]
    frames = []
    for frame in iter_video_frames(path):
        frames.append(frame)
        if max_frames is not None and len(frames) >= max_frames:
            break
    if not frames:
        raise OSError(f"video {path} has no frames")
    return frames


def num_frames(path: Path) -> int:
    """Frame count of a video file or frames folder."""
    return len(frame_files(path)) if path.is_dir() else count_video_frames(path)
