"""Synthetic talking-head motion: clips rendered from one still image (no files, no Paddle).

A clip is the still warped frame by frame by a backward map ``output pixel -> source pixel``::

    source = tps(rigid^-1(p))

* ``rigid``: a smooth random similarity transform over time (rotation, scale, translation
  around the face centre) with head-like amplitudes (:class:`MotionParams`);
* ``tps``: a thin-plate spline that moves facial landmarks (jaw open/close, eye blink, brow
  raise) when 68 dlib landmarks are known, or a few random local bumps otherwise;
* background: with landmarks, only a feathered head region moves; the still background under
  it is inpainted, so the original head does not show through. Without landmarks the whole
  frame moves (reflected borders), like a camera pan.
* a per-clip colour jitter (brightness, contrast, saturation, hue).

Everything is a pure function of its inputs and a ``numpy.random.Generator``: the same seed
gives the same clip.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

import cv2
import numpy as np

# dlib 68-point indices (iBUG layout)
JAW = list(range(0, 17))
CHIN = [6, 7, 8, 9, 10]
BROWS = list(range(17, 27))
NOSE = list(range(27, 36))
UPPER_LIDS = [37, 38, 43, 44]
LOWER_LIDS = [41, 40, 47, 46]          # the lower-lid partner of each upper-lid point
EYE_CORNERS = [36, 39, 42, 45]
MOUTH_UPPER = [48, 49, 50, 51, 52, 53, 54, 60, 61, 62, 63, 64]
MOUTH_LOWER = [55, 56, 57, 58, 59, 65, 66, 67]
MAP_STEP = 4            # the backward map is computed every MAP_STEP pixels and interpolated
BLINK_CLOSURE = 0.6     # share of the eye opening the upper lid travels at a full blink


@dataclass(frozen=True)
class MotionParams:
    """Amplitudes of the random motion (fractions of the frame side unless stated)."""

    rotation_deg: float = 12.0      # max head roll, degrees
    scale: float = 0.08             # max relative zoom
    translation: float = 0.07       # max shift
    jaw: float = 0.10               # max jaw drop, fraction of the face height
    brow: float = 0.05              # max brow raise, fraction of the face height
    blinks_per_clip: float = 1.0    # expected number of blinks
    local_bumps: int = 3            # random local warps when there are no landmarks
    jitter: float = 0.1             # colour jitter strength (brightness/contrast/saturation; hue / 2)


def smooth_signal(rng: np.random.Generator, frames: int, periods: Tuple[float, float] = (0.6, 2.5),
                  terms: int = 2) -> np.ndarray:
    """A smooth random curve ``[frames]`` in [-1, 1]: a sum of sines with periods of
    ``periods`` clip lengths and random phases, scaled so its peak is a random value in [0.5, 1]."""
    t = np.arange(frames, dtype=np.float64) / max(frames, 1)
    curve = np.zeros(frames)
    for _ in range(terms):
        period = rng.uniform(*periods)
        curve += rng.uniform(0.5, 1.0) * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
    peak = np.abs(curve).max()
    return curve / peak * rng.uniform(0.5, 1.0) if peak > 0 else curve


def blink_signal(rng: np.random.Generator, frames: int, rate: float) -> np.ndarray:
    """Eye closure ``[frames]`` in [0, 1]: a few smooth pulses about 5 frames wide."""
    closure = np.zeros(frames)
    t = np.arange(frames)
    for _ in range(rng.poisson(rate)):
        centre, width = rng.uniform(0, frames), rng.uniform(1.5, 3.0)
        closure = np.maximum(closure, np.exp(-0.5 * ((t - centre) / width) ** 2))
    return closure


def fit_tps(control: np.ndarray, target: np.ndarray, reg: float = 1e-6) -> np.ndarray:
    """Thin-plate spline mapping ``control [P,2] -> target [P,2]``; returns coefficients
    ``[P+3, 2]`` for :func:`apply_tps` (kernel ``r^2 log r^2``)."""
    p = len(control)
    dist2 = ((control[:, None] - control[None]) ** 2).sum(-1)
    kernel = np.where(dist2 > 0, dist2 * np.log(dist2 + 1e-12), 0.0) + reg * np.eye(p)
    poly = np.concatenate([np.ones((p, 1)), control], axis=1)
    system = np.zeros((p + 3, p + 3))
    system[:p, :p], system[:p, p:], system[p:, :p] = kernel, poly, poly.T
    rhs = np.zeros((p + 3, 2))
    rhs[:p] = target
    return np.linalg.solve(system, rhs)


def apply_tps(coeffs: np.ndarray, control: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Evaluate a :func:`fit_tps` spline at ``points [M,2]`` -> ``[M,2]``."""
    dist2 = ((points[:, None] - control[None]) ** 2).sum(-1)
    kernel = np.where(dist2 > 0, dist2 * np.log(dist2 + 1e-12), 0.0)
    poly = np.concatenate([np.ones((len(points), 1)), points], axis=1)
    return kernel @ coeffs[:len(control)] + poly @ coeffs[len(control):]


def similarity_matrix(angle_deg: float, scale: float, shift: np.ndarray, centre: np.ndarray
                      ) -> np.ndarray:
    """``[2,3]`` forward map ``q -> centre + scale * R(angle) (q - centre) + shift``."""
    a = np.deg2rad(angle_deg)
    rot = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return np.concatenate([rot, (centre + shift - rot @ centre)[:, None]], axis=1)


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a ``[2,3]`` affine map."""
    inv = np.linalg.inv(matrix[:, :2])
    return np.concatenate([inv, (-inv @ matrix[:, 2])[:, None]], axis=1)


def border_anchors(size: int, per_side: int = 5) -> np.ndarray:
    """Fixed TPS control points along the frame border ``[4*per_side, 2]`` (pixels)."""
    ticks = np.linspace(0, size - 1, per_side, endpoint=False)
    last = size - 1
    return np.concatenate([np.stack([ticks, np.zeros_like(ticks)], 1),
                           np.stack([np.full_like(ticks, last), ticks], 1),
                           np.stack([last - ticks, np.full_like(ticks, last)], 1),
                           np.stack([np.zeros_like(ticks), last - ticks], 1)])


def expression_landmarks(landmarks: np.ndarray, jaw: float, blink: float, brow: float
                         ) -> np.ndarray:
    """Move 68 landmarks ``[68,2]`` (pixels): ``jaw`` drop and ``brow`` raise in pixels, ``blink``
    in [0, 1] (1: a full blink). Returns the moved copy."""
    moved = landmarks.astype(np.float64).copy()
    moved[CHIN, 1] += jaw
    moved[[5, 11], 1] += 0.5 * jaw
    moved[MOUTH_LOWER, 1] += jaw
    moved[BROWS, 1] -= brow
    for upper, lower in zip(UPPER_LIDS, LOWER_LIDS):
        moved[upper] += blink * BLINK_CLOSURE * (landmarks[lower] - landmarks[upper])
    return moved


def head_mask(landmarks: np.ndarray, size: int) -> np.ndarray:
    """A feathered head region ``[size, size] float32`` in [0, 1]: an ellipse around the face
    landmarks, stretched upwards to hold the forehead and hair."""
    x0, y0 = landmarks.min(0)
    x1, y1 = landmarks.max(0)
    width, height = x1 - x0, y1 - y0
    centre = (int(round((x0 + x1) / 2)), int(round(y0 + 0.35 * height)))
    axes = (int(round(0.85 * width)), int(round(1.15 * height)))
    mask = np.zeros((size, size), np.float32)
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 1.0, -1)
    blur = max(3, int(0.08 * size) | 1)
    return cv2.GaussianBlur(mask, (blur, blur), 0)


def colour_jitter(frame: np.ndarray, params: np.ndarray) -> np.ndarray:
    """``[H,W,3]`` float32 RGB in [0,1] with ``params = (brightness, contrast, saturation, hue)``
    factors/offsets applied -> same shape, clipped to [0, 1]."""
    brightness, contrast, saturation, hue = params
    out = frame * brightness
    out = (out - out.mean()) * contrast + out.mean()
    grey = out.mean(axis=2, keepdims=True)
    out = np.clip((out - grey) * saturation + grey, 0, 1).astype(np.float32)
    if hue != 0:
        hsv = cv2.cvtColor(out, cv2.COLOR_RGB2HSV)
        hsv[..., 0] = (hsv[..., 0] + hue * 360.0) % 360.0
        out = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    return np.clip(out, 0, 1)


@dataclass
class ClipPlan:
    """Per-frame parameters of one clip (all ``[T]`` arrays; pixels at the working size)."""

    angle: np.ndarray
    scale: np.ndarray
    shift: np.ndarray          # [T, 2]
    jaw: np.ndarray
    blink: np.ndarray
    brow: np.ndarray
    bumps: List[Tuple[np.ndarray, np.ndarray, float]]   # (centre [2], offsets [T,2], radius)
    colour: np.ndarray         # [4]


def plan_clip(rng: np.random.Generator, frames: int, size: int, face_height: Optional[float],
              params: MotionParams) -> ClipPlan:
    """Draw the motion of one clip at working size ``size`` (``face_height`` None: no landmarks)."""
    shift = np.stack([smooth_signal(rng, frames), smooth_signal(rng, frames)], 1)
    bumps = []
    if face_height is None:
        for _ in range(params.local_bumps):
            radius = rng.uniform(0.12, 0.25) * size
            centre = rng.uniform(0.25, 0.75, 2) * size
            offsets = np.stack([smooth_signal(rng, frames), smooth_signal(rng, frames)], 1) * radius / 3
            bumps.append((centre, offsets, radius))
    face = face_height or 0.0
    jitter = params.jitter
    return ClipPlan(
        angle=params.rotation_deg * smooth_signal(rng, frames),
        scale=1.0 + params.scale * smooth_signal(rng, frames),
        shift=params.translation * size * shift,
        jaw=params.jaw * face * np.clip(0.5 + 0.5 * smooth_signal(rng, frames, (0.3, 1.0)), 0, 1),
        blink=blink_signal(rng, frames, params.blinks_per_clip),
        brow=params.brow * face * np.clip(smooth_signal(rng, frames, (0.4, 1.5)), 0, 1),
        bumps=bumps,
        colour=np.array([1 + rng.uniform(-jitter, jitter), 1 + rng.uniform(-jitter, jitter),
                         1 + rng.uniform(-jitter, jitter), rng.uniform(-jitter, jitter) / 2]))


class ClipRenderer:
    """Renders frames of clips from one still (``image [S,S,3]`` uint8 RGB at the working size).

    Args:
        image: the square still, at the working size ``S``.
        landmarks: its 68 landmarks ``[68,2]`` (pixels), or None (generic local motion).
        out_size: side of the written frames (the working frame is area-resized to it).
    """

    def __init__(self, image: np.ndarray, landmarks: Optional[np.ndarray], out_size: int) -> None:
        self.size = image.shape[0]
        self.image = image.astype(np.float32) / 255.0
        self.landmarks = None if landmarks is None else landmarks.astype(np.float64)
        self.out_size = out_size
        # the warp is smooth: evaluate it on a grid 4x coarser whose points sit where
        # cv2.resize puts coarse pixel centres, then upsample (exact for affine maps)
        self.coarse = max(2, self.size // MAP_STEP)
        ticks = (np.arange(self.coarse) + 0.5) * self.size / self.coarse - 0.5
        grid_y, grid_x = np.meshgrid(ticks, ticks, indexing="ij")
        self.grid = np.stack([grid_x.ravel(), grid_y.ravel()], 1)        # [c*c, 2] (x, y)
        self.anchors = border_anchors(self.size)
        if self.landmarks is not None:
            self.mask = head_mask(self.landmarks, self.size)
            hole = (cv2.dilate(self.mask, np.ones((5, 5), np.uint8)) > 0.05).astype(np.uint8)
            self.background = cv2.inpaint(image, hole, max(3, self.size // 20),
                                          cv2.INPAINT_TELEA).astype(np.float32) / 255.0
            self.centre = self.landmarks.mean(0)
        else:
            self.mask = None
            self.background = None
            self.centre = np.array([self.size / 2, self.size / 2])

    @property
    def face_height(self) -> Optional[float]:
        if self.landmarks is None:
            return None
        return float(self.landmarks[:, 1].max() - self.landmarks[:, 1].min())

    def _local_map(self, plan: ClipPlan, t: int, points: np.ndarray) -> np.ndarray:
        """Canonical points ``[M,2]`` -> still coordinates (the inverse of the local warp)."""
        if self.landmarks is not None:
            moved = expression_landmarks(self.landmarks, plan.jaw[t], plan.blink[t], plan.brow[t])
            control = np.concatenate([moved, self.anchors])
            target = np.concatenate([self.landmarks, self.anchors])
        else:
            rings = []
            for centre, offsets, radius in plan.bumps:
                angles = np.linspace(0, 2 * np.pi, 8, endpoint=False)
                ring = centre + radius * np.stack([np.cos(angles), np.sin(angles)], 1)
                rings.append((centre + offsets[t], centre, ring))
            if not rings:
                return points
            control = np.concatenate([np.stack([r[0] for r in rings])]
                                     + [r[2] for r in rings] + [self.anchors])
            target = np.concatenate([np.stack([r[1] for r in rings])]
                                    + [r[2] for r in rings] + [self.anchors])
        return apply_tps(fit_tps(control, target), control, points)

    def render(self, plan: ClipPlan, t: int) -> np.ndarray:
        """Frame ``t`` of ``plan`` -> ``[out, out, 3]`` uint8 RGB."""
        rigid = similarity_matrix(plan.angle[t], plan.scale[t], plan.shift[t], self.centre)
        inverse = invert_affine(rigid)
        canonical = self.grid @ inverse[:, :2].T + inverse[:, 2]
        source = self._local_map(plan, t, canonical).astype(np.float32)
        source = cv2.resize(source.reshape(self.coarse, self.coarse, 2), (self.size, self.size),
                            interpolation=cv2.INTER_LINEAR)
        warped = cv2.remap(self.image, source[..., 0], source[..., 1], cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REFLECT101)
        if self.mask is not None:
            alpha = cv2.remap(self.mask, source[..., 0], source[..., 1], cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)[..., None]
            warped = alpha * warped + (1 - alpha) * self.background
        frame = colour_jitter(warped, plan.colour)
        if self.out_size != self.size:
            frame = cv2.resize(frame, (self.out_size, self.out_size), interpolation=cv2.INTER_AREA)
        return np.clip(np.round(frame * 255), 0, 255).astype(np.uint8)
