"""The Live tab's engine: one webcam frame in, the portrait moved as the face in it, out.

:class:`FrameAnimator` is the whole interface the tab uses (``set_source``, ``reset``,
``__call__``), so a faster engine can replace the kit's :class:`Animator` behind it. Today it
runs the same networks as the Animate tab: the portrait's keypoints are computed once; the
first webcam frame after :meth:`FrameAnimator.reset` is the reference, and each later frame
moves the portrait by its keypoints' motion relative to that reference (FOMM's relative mode).
The webcam face is cropped with one square found at the reference frame (the driving crop's
rule), so the crop does not jitter from frame to frame.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Optional

import numpy as np

from ppgan_app.apps.expression_transfer.animator import Animator
from ppgan_app.apps.expression_transfer.composite import Compositor
from ppgan_app.apps.expression_transfer.motion import to_chw_float, to_hwc_uint8
from ppgan_app.errors import InputError
from ppgan_app.faces.crop import Box, crop_resize, driving_crop_box, face_crop_boxes, square_box

logger = logging.getLogger(__name__)


class FrameAnimator:
    """Animates one portrait with webcam frames, frame by frame.

    Args:
        animator: the networks (:class:`Animator`), shared between sessions.
        detect: ``image [H,W,3] uint8 -> [K,5]`` face boxes (the kit's detectors).
        ratio: size of the pasted face region (``TransferOptions.ratio``).
        adapt_scale: scale the motion by the keypoint hull areas.
    """

    def __init__(self, animator: Animator, detect: Callable[[np.ndarray], np.ndarray],
                 ratio: float = 0.4, adapt_scale: bool = True) -> None:
        self.animator = animator
        self.detect = detect
        self.ratio = ratio
        self.adapt_scale = adapt_scale
        self._source: Optional[np.ndarray] = None
        self._kp_source: Any = None
        self._compose: Optional[Compositor] = None
        self.reset()

    @property
    def ready(self) -> bool:
        """A portrait is set."""
        return self._source is not None

    def set_source(self, image: np.ndarray) -> int:
        """Use ``image [H,W,3] uint8`` RGB as the portrait; return the faces found (0: the whole
        image is animated). The next frame becomes the reference."""
        size = self.animator.image_size
        boxes = face_crop_boxes(self.detect(image), image.shape[:2])
        whole = not boxes
        box: Box = (0, 0, image.shape[1], image.shape[0]) if whole else boxes[0]
        self._source = to_chw_float(crop_resize(image, box, size)[None])
        self._kp_source = self.animator.keypoints(self._source)
        self._compose = Compositor(image, [box], self.ratio, whole_image=whole)
        self.reset()
        return len(boxes)

    def reset(self) -> None:
        """Take the next frame as the reference pose (and look for the face in it again)."""
        self._reference: Any = None
        self._box: Optional[Box] = None

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """``frame [h,w,3] uint8`` RGB → the portrait ``[H,W,3] uint8`` moved as its face.

        Raises:
            InputError: no portrait set.
        """
        if self._source is None or self._compose is None:
            raise InputError("choose a portrait first")
        if self._box is None:
            self._box = self._frame_box(frame)
        size = self.animator.image_size
        driving = to_chw_float(crop_resize(frame, self._box, size)[None])
        kp_driving = self.animator.keypoints(driving)
        if self._reference is None:
            self._reference = kp_driving
        out = self.animator.animate(self._source, self._kp_source, kp_driving, self._reference,
                                    relative=True, adapt_scale=self.adapt_scale)
        return self._compose([to_hwc_uint8(out)[0]])

    def _frame_box(self, frame: np.ndarray) -> Box:
        """The webcam crop: a square around its largest face, else the central square."""
        height, width = frame.shape[:2]
        faces = self.detect(frame)
        if len(faces):
            largest = max(faces, key=lambda f: (f[2] - f[0]) * (f[3] - f[1]))
            return driving_crop_box([largest], (height, width))
        logger.info("live: no face in the reference frame; using its central square")
        return square_box((width / 2, height / 2), min(height, width), (height, width))
