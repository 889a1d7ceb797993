"""One live frame animated: the act that live mode's pipeline and the web app's Live tab share.

:class:`LiveAnimator` holds one portrait (its face crop, keypoints and, inside the graph
engines, its encoding, computed once), a :class:`~ppgan_app.apps.live.tracker.FaceTracker` for
the driving face and the reference pose. A camera frame goes through two steps, so that a
pipeline can run them in two threads on consecutive frames:

* :meth:`LiveAnimator.motion`: crop the driving face, find its keypoints and express them
  relative to the reference (the first frame with a face, until :meth:`reset_reference`);
* :meth:`LiveAnimator.render`: the generator on those keypoints (the still portrait while no
  face has been seen).

``animator(frame)`` does both, in the calling thread (the Live tab).
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Optional

import numpy as np

from ppgan_app.apps.live.tracker import FaceTracker

logger = logging.getLogger(__name__)


def to_network(image: np.ndarray) -> np.ndarray:
    """``[S,S,3] uint8`` RGB -> ``[1,3,S,S] float32`` in [0,1]."""
    return (image.astype(np.float32) / 255.0).transpose(2, 0, 1)[None].copy()


def to_image(prediction: Any) -> np.ndarray:
    """``[1,3,S,S]`` in [0,1] (array or tensor) -> ``[S,S,3] uint8`` RGB."""
    array = prediction.numpy() if hasattr(prediction, "numpy") else np.asarray(prediction)
    return (np.clip(array[0].transpose(1, 2, 0), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def portrait_crop(image: np.ndarray, detector: Callable, size: int) -> np.ndarray:
    """The portrait's largest face, cropped as the demo crops it and resized to ``[S,S,3]``;
    the whole image when no face is found (logged)."""
    from ppgan_app.faces.crop import crop_resize, face_crop_boxes

    boxes = face_crop_boxes(detector(image), image.shape[:2])
    if not boxes:
        logger.warning("no face found in the portrait: animating the whole image")
        height, width = image.shape[:2]
        boxes = [(0, 0, width, height)]
    return crop_resize(image, boxes[0], size)


class LiveAnimator:
    """Animates one portrait with the face in front of a camera, frame by frame.

    Args:
        engine: a :class:`ppgan_app.inference.engines.Engine` (``kp_detector``, ``generator``).
        source: the portrait's face crop ``[S,S,3] uint8`` RGB.
        tracker: finds and crops the driving face (:class:`FaceTracker`, size ``S``).
        adapt_scale: scale the motion by the ratio of keypoint hull areas.
    """

    def __init__(self, engine: Any, source: np.ndarray, tracker: FaceTracker,
                 adapt_scale: bool = False) -> None:
        self.engine = engine
        self.source_image = source
        self.source = to_network(source)
        self.tracker = tracker
        self.adapt_scale = adapt_scale
        self.kp_source = engine.kp_detector(self.source)
        self.engine.generator(self.source, self.kp_source, self.kp_source)   # warm up, encode
        self.resets = 0
        self._reference: Any = None
        self._reset = threading.Event()
        self._said_no_face = False

    @classmethod
    def for_portrait(cls, engine: Any, image: np.ndarray, detector: Callable, size: int,
                     redetect_every: int = 10, adapt_scale: bool = False) -> "LiveAnimator":
        """A live animator of the largest face of ``image [H,W,3] uint8`` (the whole image
        when it has none), with a tracker on ``detector`` re-detecting every
        ``redetect_every`` frames."""
        return cls(engine, portrait_crop(image, detector, size),
                   FaceTracker(detector, size, redetect_every=redetect_every), adapt_scale)

    @property
    def size(self) -> int:
        """Side ``S`` of the network's frames (and of the animated output)."""
        return int(self.source_image.shape[0])

    @property
    def has_reference(self) -> bool:
        """A reference pose is set (a face was seen since the start or the last reset)."""
        return self._reference is not None

    def reset_reference(self) -> None:
        """Take the next driving frame with a face as the reference pose (thread-safe)."""
        self._reset.set()

    def motion(self, image: np.ndarray, index: int = -1) -> Optional[dict]:
        """The driving keypoints of camera frame ``image [H,W,3] uint8`` relative to the
        reference, ready for the generator; ``None`` while no face has been seen. ``index``
        (the frame's number) is only logged."""
        from ppgan_app.models.firstorder.normalize_kp import normalize_kp

        kp = self.engine.kp_detector(to_network(self.tracker.crop(image)))
        if self._reset.is_set() and self.tracker.face_found:
            self._reset.clear()
            self._reference = None
            self.resets += 1
        if self._reference is None and self.tracker.face_found:
            self._reference = kp
            logger.info("reference driving frame: %d", index)
        if self._reference is None:
            if not self._said_no_face:
                logger.info("no face found in the camera frame yet: showing the still portrait")
                self._said_no_face = True
            return None
        return normalize_kp(kp_source=self.kp_source, kp_driving=kp,
                            kp_driving_initial=self._reference,
                            adapt_movement_scale=self.adapt_scale,
                            use_relative_movement=True, use_relative_jacobian=True)

    def render(self, kp_driving: Optional[dict], engine: Any = None) -> np.ndarray:
        """The portrait moved by ``kp_driving`` (from :meth:`motion`) -> ``[S,S,3] uint8``;
        the still portrait for ``None``. ``engine``: a twin of the animator's engine
        (:meth:`Engine.twin`) for a second generator thread; default: the animator's."""
        if kp_driving is None:
            return self.source_image
        engine = self.engine if engine is None else engine
        return to_image(engine.generator(self.source, self.kp_source, kp_driving))

    def warm_up(self, engine: Any) -> None:
        """Run ``engine`` (a twin) once on the portrait, so its first frame is not slow."""
        engine.generator(self.source, self.kp_source, self.kp_source)

    def __call__(self, image: np.ndarray, index: int = -1) -> np.ndarray:
        """Camera frame ``image [H,W,3] uint8`` RGB -> the animated portrait ``[S,S,3] uint8``."""
        return self.render(self.motion(image, index))
