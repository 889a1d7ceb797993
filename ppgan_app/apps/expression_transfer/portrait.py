"""A source portrait ready to animate: its faces, what the networks see of each, and how each
animated face is pasted back.

Faces that stand close together (:mod:`ppgan_app.faces.regions`): each animated face's crop has
the other faces' regions filled from the background before the networks see it, and its paste
mask is zero on them, so no face's animation changes another face's pixels.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from ppgan_app.apps.expression_transfer.animator import Animator
from ppgan_app.apps.expression_transfer.composite import Compositor
from ppgan_app.apps.expression_transfer.motion import animate_batch, to_chw_float
from ppgan_app.faces.crop import Box, crop_resize
from ppgan_app.faces.regions import fill_neighbours, keep_out_alpha, keep_out_masks

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Portrait:
    """A source portrait ready to animate: ``image [H,W,3] uint8``, the faces found in it and
    the crop boxes of those animated."""

    path: str
    image: np.ndarray
    boxes: List[Box]
    whole: bool  #: no face found: the whole image is animated (``no_face_ok``)
    faces: List[Tuple[float, ...]] = field(default_factory=list)  #: all found
    #: per animated face, ``[h,w] bool`` the other faces' regions in its crop (``None``: none)
    keep_out: List[Optional[np.ndarray]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.keep_out:
            object.__setattr__(self, "keep_out", [None] * len(self.boxes))


def neighbour_keep_out(image_hw: Tuple[int, int], faces: Sequence[Sequence[float]],
                       boxes: Sequence[Box]) -> List[Optional[np.ndarray]]:
    """Per animated face (``boxes`` are the crops of ``faces[:len(boxes)]``), the other faces'
    regions inside its crop (``[h,w] bool``), or ``None`` when no other face reaches into it;
    logged."""
    masks = keep_out_masks(faces, image_hw, boxes)
    for index, mask in enumerate(masks):
        if mask is not None:
            logger.info("face %d: a neighbouring face reaches into its crop; it is kept out "
                        "(filled before the network sees the crop, never pasted over)",
                        index + 1)
    return masks


def face_crop(portrait: Portrait, index: int, size: int) -> np.ndarray:
    """Animated face ``index``'s crop resized to ``[size,size,3] uint8``, with the other
    faces' regions filled from the background (what the networks and landmarks see)."""
    box, keep_out = portrait.boxes[index], portrait.keep_out[index]
    if keep_out is None:
        return crop_resize(portrait.image, box, size)
    x1, y1, x2, y2 = box
    crop = fill_neighbours(portrait.image[y1:y2, x1:x2], keep_out)
    return crop_resize(crop, (0, 0, x2 - x1, y2 - y1), size)


class PortraitRenderer:
    """One portrait's faces ready to animate: their network inputs (other faces filled),
    source keypoints and paste-back masks (other faces kept out).

    Args:
        portrait: the portrait and its faces.
        animator: the networks.
        ratio: paste-back disc radius (``--ratio``).
    """

    def __init__(self, portrait: Portrait, animator: Animator, ratio: float) -> None:
        size = animator.image_size
        self.animator = animator
        #: per face ``[1,3,S,S] float32`` in [0, 1]
        self.sources = [to_chw_float(face_crop(portrait, i, size)[None])
                        for i in range(len(portrait.boxes))]
        self.kp_sources = [animator.keypoints(s) for s in self.sources]
        self.compose = Compositor(
            portrait.image, portrait.boxes, ratio, whole_image=portrait.whole,
            keep_out=[None if mask is None else keep_out_alpha(mask)
                      for mask in portrait.keep_out])

    def crops(self, kp_driving: Any, kp_initial: Any, relative: bool,
              adapt_scale: bool) -> List[np.ndarray]:
        """Per face, ``[n,S,S,3] uint8`` animated crops for a batch of driving keypoints."""
        return animate_batch(self.animator, kp_driving, self.sources, self.kp_sources,
                             kp_initial, relative, adapt_scale)

    def frames(self, crops: Sequence[np.ndarray]) -> List[np.ndarray]:
        """``[H,W,3] uint8`` result frames from per-face crops ``[n,S,S,3]``."""
        return [self.compose([face_crops[i] for face_crops in crops])
                for i in range(len(crops[0]))]
