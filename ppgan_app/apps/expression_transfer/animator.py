"""The narrow interface between the expression-transfer pipeline and the FOMM networks.

The pipeline (files, faces, video) only ever calls the two methods of :class:`Animator`; the
networks, keypoint normalisation and inference engine live behind it. Tests use a fake animator.
"""
from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Animator(Protocol):
    """Animates a source face with the motion of driving frames.

    Attributes:
        image_size: side ``S`` of the square images the networks take.
    """

    image_size: int

    def keypoints(self, frames: np.ndarray) -> Any:
        """Keypoints of ``frames [N,3,S,S] float32 in [0,1]``: an opaque object that the same
        animator's :meth:`animate` accepts (for FOMM, ``value [N,K,2]`` and
        ``jacobian [N,K,2,2]``)."""

    def animate(self, source: np.ndarray, kp_source: Any, kp_driving: Any,
                kp_driving_initial: Any, *, relative: bool, adapt_scale: bool) -> np.ndarray:
        """Render ``source`` moved as the driving keypoints say.

        Args:
            source: ``[1,3,S,S] float32 in [0,1]`` the source face.
            kp_source: ``keypoints(source)``.
            kp_driving: ``keypoints(driving)`` of a batch of ``N`` driving frames.
            kp_driving_initial: ``keypoints`` of the one reference driving frame (relative mode
                moves the source by ``kp_driving - kp_driving_initial``).
            relative: relative keypoint motion (else the driving keypoints are used as they are).
            adapt_scale: scale the motion by the ratio of keypoint convex-hull areas.

        Returns:
            ``[N,3,S,S] float32 in [0,1]`` one animated face per driving frame, in order.
        """
