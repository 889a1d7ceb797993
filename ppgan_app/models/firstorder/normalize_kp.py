"""Driving keypoints -> keypoints for animating the source (PaddleGAN's ``normalize_kp``).

Absolute motion uses the driving keypoints as they are. Relative motion moves the source
keypoints by the driving frame's displacement from the first driving frame:

    value    = kp_s + (kp_d - kp_d0) * scale
    jacobian = J_d  J_d0^-1  J_s

``scale`` is 1, or with ``adapt_movement_scale`` sqrt(area(source hull) / area(driving hull))
of the keypoint convex hulls (first item of each batch), which compensates for faces of
different size. Tensor-level only: no file I/O.
"""
from __future__ import annotations

import logging
from typing import Dict, Mapping

import numpy as np
import paddle

from ppgan_app.models.firstorder.blocks import invert_2x2

logger = logging.getLogger(__name__)

KeyPoints = Mapping[str, paddle.Tensor]


def convex_hull_area(points: np.ndarray) -> float:
    """Area of the convex hull of 2-D points ``[P, 2]`` (0 for fewer than 3 or collinear).

    Andrew's monotone chain, then the shoelace formula; equals
    ``scipy.spatial.ConvexHull(points).volume`` for non-degenerate inputs.
    """
    pts = np.unique(np.asarray(points, dtype=np.float64).reshape(-1, 2), axis=0)  # sorted by x, y
    if len(pts) < 3:
        return 0.0

    def cross(o, a, b) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    def half(seq) -> list:
        chain: list = []
        for p in seq:
            while len(chain) >= 2 and cross(chain[-2], chain[-1], p) <= 0:
                chain.pop()
            chain.append(p)
        return chain[:-1]

    hull = np.array(half(pts) + half(pts[::-1]))
    if len(hull) < 3:
        return 0.0
    x, y = hull[:, 0], hull[:, 1]
    return float(0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def movement_scale(kp_source: KeyPoints, kp_driving_initial: KeyPoints) -> float:
    """sqrt(source hull area) / sqrt(initial driving hull area), from the first batch item.

    Falls back to 1 when the driving hull is degenerate (logged at debug level: it is the same
    for every batch with one reference, so a caller animating a video says it once, see
    :func:`reference_is_collinear`).
    """
    source_area = convex_hull_area(kp_source["value"][0].numpy())
    driving_area = convex_hull_area(kp_driving_initial["value"][0].numpy())
    if driving_area <= 0.0:
        logger.debug("driving keypoints are collinear (hull area 0); movement scale set to 1")
        return 1.0
    return float(np.sqrt(source_area) / np.sqrt(driving_area))


def reference_is_collinear(kp_driving_initial: Mapping) -> bool:
    """True when the reference frame's keypoints (``value [1,K,2]``) span no area, so
    ``adapt_movement_scale`` falls back to a scale of 1."""
    value = kp_driving_initial["value"]
    points = np.asarray(value.numpy() if hasattr(value, "numpy") else value)[0]
    return convex_hull_area(points) <= 0.0


def normalize_kp(kp_source: KeyPoints, kp_driving: KeyPoints, kp_driving_initial: KeyPoints,
                 adapt_movement_scale: bool = False, use_relative_movement: bool = False,
                 use_relative_jacobian: bool = False) -> Dict[str, paddle.Tensor]:
    """Keypoints that drive the generator for one batch of driving frames.

    Args:
        kp_source: ``value [1 or N, K, 2]`` in [-1, 1], ``jacobian [1 or N, K, 2, 2]``.
        kp_driving: the current driving frames, ``value [N, K, 2]``, ``jacobian [N, K, 2, 2]``.
        kp_driving_initial: the reference driving frame (usually frame 0), batch 1.
        adapt_movement_scale: scale relative motion by the hull-area ratio.
        use_relative_movement: relative (True) or absolute (False) keypoint positions.
        use_relative_jacobian: with relative movement, transfer jacobians too.
    Returns:
        ``{"value": [N, K, 2], "jacobian": [N, K, 2, 2]}`` (absolute mode: ``kp_driving``'s
        tensors unchanged; the scale only applies to relative motion, as in PaddleGAN).
    """
    kp_new = dict(kp_driving)
    if not use_relative_movement:
        return kp_new
    scale = movement_scale(kp_source, kp_driving_initial) if adapt_movement_scale else 1.0
    kp_new["value"] = (kp_driving["value"] - kp_driving_initial["value"]) * scale + kp_source["value"]
    if use_relative_jacobian and "jacobian" in kp_driving:
        jacobian_diff = paddle.matmul(kp_driving["jacobian"], invert_2x2(kp_driving_initial["jacobian"]))
        kp_new["jacobian"] = paddle.matmul(jacobian_diff, kp_source["jacobian"])
    return kp_new
