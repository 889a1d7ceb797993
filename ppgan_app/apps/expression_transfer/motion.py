"""The driving video's motion, computed once and shared: keypoints in batches, and the step
that animates source faces with one batch of them.

The expression-transfer pipeline (:mod:`.predictor`) decodes a driving video once into a
:class:`DrivingMotion` (about 60 numbers per frame) and animates every portrait of a batch from
it. Images here are network tensors: ``[N,3,S,S] float32`` in [0, 1] in, ``[N,S,S,3] uint8`` out.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ppgan_app.apps.expression_transfer.animator import Animator


def to_chw_float(images: np.ndarray) -> np.ndarray:
    """``[N,S,S,3] uint8`` → ``[N,3,S,S] float32`` in [0, 1]."""
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32) / 255.0


def to_hwc_uint8(images: np.ndarray) -> np.ndarray:
    """``[N,3,S,S] float`` in [0, 1] → ``[N,S,S,3] uint8``."""
    scaled = np.rint(np.asarray(images).transpose(0, 2, 3, 1) * 255.0)
    return np.clip(scaled, 0, 255).astype(np.uint8)


def driving_keypoints(animator: Animator, prep_frames: np.ndarray,
                      batch_size: int) -> Iterator[Tuple[Any, int]]:
    """Keypoints of ``prep_frames [n,S,S,3] uint8`` in batches: yields ``(keypoints, count)``."""
    for start in range(0, len(prep_frames), batch_size):
        batch = prep_frames[start:start + batch_size]
        yield animator.keypoints(to_chw_float(batch)), len(batch)


def animate_batch(animator: Animator, kp_driving: Any, sources: Sequence[np.ndarray],
                  kp_sources: Sequence[Any], kp_initial: Any, relative: bool,
                  adapt_scale: bool) -> List[np.ndarray]:
    """Animate every source face with one batch of driving keypoints.

    Args:
        kp_driving: keypoints of ``n`` driving frames.
        sources: per face, ``[1,3,S,S] float32`` in [0, 1].
        kp_sources: per face, its keypoints.
        kp_initial: keypoints of the reference driving frame.

    Returns:
        per face, ``[n,S,S,3] uint8`` animated crops, in frame order.
    """
    return [to_hwc_uint8(animator.animate(source, kp_source, kp_driving, kp_initial,
                                          relative=relative, adapt_scale=adapt_scale))
            for source, kp_source in zip(sources, kp_sources)]


def collinear_reference(kp_initial: Any) -> bool:
    """True when FOMM keypoints of the reference frame (a mapping with ``value [1,K,2]``) span
    no area, so ``adapt_scale`` falls back to a movement scale of 1 for every frame; False for
    other animators' keypoints."""
    if not isinstance(kp_initial, Mapping) or "value" not in kp_initial:
        return False
    from ppgan_app.models.firstorder.normalize_kp import reference_is_collinear

    return reference_is_collinear(kp_initial)


def take_keypoints(keypoints: Any, index: int) -> Any:
    """Frame ``index`` of a batch of keypoints, keeping its structure (a dict of arrays or
    tensors ``[N,...]`` → the same with ``[1,...]``)."""
    if isinstance(keypoints, Mapping):
        return {key: take_keypoints(value, index) for key, value in keypoints.items()}
    return keypoints[index:index + 1]


@dataclass(frozen=True)
class DrivingMotion:
    """A driving video reduced to what animating any portrait with it needs, computed in one
    decode: the keypoints of every frame (about 60 numbers each), shared by every portrait.

    Attributes:
        path: the driving video.
        fps: its frame rate.
        frames: frames decoded.
        batches: keypoints of successive groups of frames (smoothed when ``smooth``).
        counts: frames in each group.
        raw: the same keypoints unsmoothed (the reference frame is taken from them).
        landmarks: per frame ``[K,2]`` landmarks or ``None`` (only for ``find_best_frame``).
        has_audio: the video has a sound track to copy.
        first_face: the first frame where a face is found (``None``: none found, or not
            searched because ``best_frame`` decides).
        still: the "video" is one still picture.
    """

    path: str
    fps: float
    frames: int
    batches: List[Any]
    counts: List[int]
    raw: List[Any]
    landmarks: Optional[List[Optional[np.ndarray]]]
    has_audio: bool
    first_face: Optional[int] = 0
    still: bool = False

    def reference(self, index: int) -> Any:
        """Unsmoothed keypoints of frame ``index`` (``[1,...]``)."""
        for kp, count in zip(self.raw, self.counts):
            if index < count:
                return take_keypoints(kp, index)
            index -= count
        raise IndexError(index)
