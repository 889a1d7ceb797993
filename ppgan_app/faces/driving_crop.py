"""Where to crop a driving video: one stable square per shot, decided without a flag.

PaddleGAN squashes whole driving frames to a square, so a driving video that is not already cut
to the face gives distorted, tiny faces. ``--crop_driving auto`` (the default) looks at the video
first:

1. every frame's 16x16 grey thumbnail is compared with the previous one; a mean change above
   :data:`CUT_DIFF` grey levels is a scene cut;
2. frames sampled over the video (and at the start of each shot) are searched for faces; within
   a shot, a face that jumps by more than :data:`JUMP` face sizes between two samples (another
   person, a camera move) starts a new shot at the largest frame change between them;
3. each shot gets one square around its faces (median size and centre plus their spread, as the
   original FOMM crops its driving videos, so head motion stays in the picture). ``auto`` uses
   it when the square is under :data:`AUTO_MAX_FRACTION` of the frame's short side or the frame
   is not square (squashing would distort the face); otherwise the shot is a face-crop video and
   is left alone. ``on`` always crops where a face is found; ``off`` never looks.

Every decision is logged.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Iterable, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from ppgan_app.faces.crop import Box, driving_crop_box

logger = logging.getLogger(__name__)

#: The ``--crop_driving`` choices.
CROP_DRIVING_CHOICES = ("auto", "on", "off")
#: ``auto`` crops when the face square is below this fraction of the frame's short side.
AUTO_MAX_FRACTION = 0.8
#: Mean absolute change of 16x16 grey thumbnails (levels of 255) that marks a scene cut.
CUT_DIFF = 30.0
#: A face moving more than this many face sizes between two samples starts a new shot.
JUMP = 1.0
#: Frames sampled over the whole video for face detection (plus up to 3 per shot).
SAMPLES = 24
#: At most this many samples in all (a flickering video would otherwise add 3 per "cut").
MAX_SAMPLES = 4 * SAMPLES
#: Sampled frames are shrunk to this longest side before detection (boxes scaled back).
SAMPLE_SIDE = 640


@dataclass(frozen=True)
class Shot:
    """Frames ``[start, end)`` and their crop box (``None``: whole frames)."""

    start: int
    end: int
    box: Optional[Box]
    reason: str


@dataclass(frozen=True)
class DrivingCropPlan:
    """The crop of every driving frame, shot by shot."""

    shots: Tuple[Shot, ...]

    def box_at(self, index: int) -> Optional[Box]:
        """Crop box of frame ``index`` (``None``: the whole frame)."""
        for shot in self.shots:
            if shot.start <= index < shot.end:
                return shot.box
        return self.shots[-1].box if self.shots else None

    @property
    def crops(self) -> bool:
        """True when some shot is cropped."""
        return any(shot.box is not None for shot in self.shots)


def no_crop_plan() -> DrivingCropPlan:
    """Whole frames everywhere (``--crop_driving off``)."""
    return DrivingCropPlan((Shot(0, 2 ** 62, None, "--crop_driving off"),))


def thumbnail(frame: np.ndarray) -> np.ndarray:
    """``[16,16] float32`` grey thumbnail of ``frame [H,W,3] uint8`` (for cut detection)."""
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    return cv2.resize(grey, (16, 16), interpolation=cv2.INTER_AREA).astype(np.float32)


@dataclass
class _Scan:
    """What one pass over the video keeps: per-frame changes and downscaled samples."""

    changes: List[float]                  # change from the previous frame (0 for frame 0)
    samples: List[Tuple[int, np.ndarray]]  # (frame index, shrunk frame)
    scale: float                          # sample pixels per frame pixel
    frame_hw: Tuple[int, int]

    @property
    def n_frames(self) -> int:
        return len(self.changes)


def _scan(frames: Iterable[np.ndarray], n_frames: Optional[int]) -> _Scan:
    stride = max(1, (n_frames or SAMPLES) // SAMPLES)
    changes: List[float] = []
    samples: List[Tuple[int, np.ndarray]] = []
    previous, since_cut, scale, hw = None, 0, 1.0, (0, 0)
    for index, frame in enumerate(frames):
        sig = thumbnail(frame)
        change = 0.0 if previous is None else float(np.abs(sig - previous).mean())
        previous = sig
        changes.append(change)
        since_cut = 0 if (index == 0 or change > CUT_DIFF) else since_cut + 1
        at_shot_start = since_cut in (0, 2, 4) and len(samples) < MAX_SAMPLES
        if index % stride == 0 or at_shot_start:
            hw = frame.shape[:2]
            scale = min(1.0, SAMPLE_SIDE / max(hw))
            small = frame if scale == 1.0 else cv2.resize(
                frame, (round(hw[1] * scale), round(hw[0] * scale)), interpolation=cv2.INTER_AREA)
            samples.append((index, small))
    return _Scan(changes, samples, scale, hw)


def _shot_bounds(scan: _Scan) -> List[int]:
    """Frame indices where shots start (scene cuts), 0 first."""
    return [0] + [i for i, c in enumerate(scan.changes) if i > 0 and c > CUT_DIFF]


def _split_jumps(bounds: List[int], faces: Sequence[Tuple[int, np.ndarray]],
                 changes: Sequence[float]) -> List[int]:
    """Add shot starts where the face jumps between consecutive samples of one shot."""
    extra = []
    for (i, a), (j, b) in zip(faces, faces[1:]):
        if any(i < cut <= j for cut in bounds):
            continue
        size = max(a[2] - a[0], a[3] - a[1], b[2] - b[0], b[3] - b[1])
        move = np.hypot((a[0] + a[2] - b[0] - b[2]) / 2, (a[1] + a[3] - b[1] - b[3]) / 2)
        if move > JUMP * size:
            split = i + 1 + int(np.argmax(changes[i + 1:j + 1]))
            logger.info("driving video: the face jumps %.0f px between frames %d and %d; new "
                        "shot from frame %d", move, i, j, split)
            extra.append(split)
    return sorted(set(bounds) | set(extra))


def _decide(faces: List[np.ndarray], frame_hw: Tuple[int, int], mode: str
            ) -> Tuple[Optional[Box], str]:
    if not faces:
        return None, "no face found: whole frames"
    box = driving_crop_box(faces, frame_hw)
    side, short = box[2] - box[0], min(frame_hw)
    square = abs(frame_hw[0] - frame_hw[1]) <= 0.05 * short
    if mode == "on":
        return box, f"--crop_driving on: square {box}"
    if side < AUTO_MAX_FRACTION * short:
        return box, (f"face square {side} px is {side / short:.0%} of the frame's short side "
                     f"(< {AUTO_MAX_FRACTION:.0%}): cropped to {box}")
    if not square:
        return box, (f"face fills the frame but the frame is {frame_hw[1]}x{frame_hw[0]}: "
                     f"cropped to the square {box} instead of squashing it")
    return None, (f"face square is {side / short:.0%} of the frame: a face-crop video, "
                  "used as it is")


def plan_driving_crop(frames: Iterable[np.ndarray], n_frames: Optional[int],
                      detect: Callable[[np.ndarray], np.ndarray], mode: str = "auto"
                      ) -> DrivingCropPlan:
    """Decide the crop of every driving frame (see the module docstring).

    Args:
        frames: the driving frames ``[H,W,3] uint8`` RGB (streamed once).
        n_frames: estimated frame count (spreads :data:`SAMPLES` samples), or ``None``.
        detect: face detector ``image -> [K,5]`` (largest face first).
        mode: ``auto``, ``on`` or ``off``.
    """
    if mode == "off":
        return no_crop_plan()
    if mode not in CROP_DRIVING_CHOICES:
        raise ValueError(f"crop mode {mode!r} not in {CROP_DRIVING_CHOICES}")
    scan = _scan(frames, n_frames)
    found = []
    for index, small in scan.samples:
        faces = detect(small)
        if len(faces):
            found.append((index, faces[0, :4] / scan.scale))
    bounds = _split_jumps(_shot_bounds(scan), found, scan.changes)
    ends = bounds[1:] + [scan.n_frames]
    shots = []
    for number, (start, end) in enumerate(zip(bounds, ends)):
        faces = [f for i, f in found if start <= i < end]
        box, reason = _decide(faces, scan.frame_hw, mode)
        (logger.warning if not faces else logger.info)(
            "driving shot %d (frames %d-%d): %s", number, start, end - 1, reason)
        shots.append(Shot(start, end, box, reason))
    return DrivingCropPlan(tuple(shots))
