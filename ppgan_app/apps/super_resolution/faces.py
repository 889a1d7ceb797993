"""Upscaling of animated face crops before paste-back (expression transfer's ``--super_resolution``).

A 256 px model pasted into a portrait whose face box is 600 px wide is stretched, hence soft;
upscaling the crop x2 or x4 with an SR network first gives the paste-back real detail to shrink
into the box instead. Importing this module loads no Paddle (the option list reads ``SR_FACTORS``).
"""
from __future__ import annotations

import logging
from typing import Optional

import cv2
import numpy as np

from ppgan_app.errors import InputError

logger = logging.getLogger(__name__)

SR_FACTORS = ("x2", "x4")      # the choices of --super_resolution
DEFAULT_FACE_SR_MODEL = "realsr"


class FaceUpscaler:
    """``upscale(crops [n, S, S, 3] uint8) -> [n, f*S, f*S, 3] uint8`` with ``f`` 2 or 4.

    Args:
        factor: ``"x2"`` or ``"x4"``; a x4 network serves x2 by an area downscale of its result.
        weights: SR weights (see ``load_sr_network``); None: RealSR's published weights.
    """

    def __init__(self, factor: str, weights: Optional[str] = None) -> None:
        if factor not in SR_FACTORS:
            raise InputError(f"--super_resolution must be one of {', '.join(SR_FACTORS)}, got {factor!r}")
        from ppgan_app.apps.super_resolution.networks import load_sr_network
        from ppgan_app.apps.super_resolution.upscaler import DEFAULT_TILE, DEFAULT_TILE_OVERLAP, Upscaler

        self.factor = int(factor[1:])
        network = load_sr_network(weights or DEFAULT_FACE_SR_MODEL, arch=DEFAULT_FACE_SR_MODEL)
        if network.scale < self.factor:
            raise InputError(f"--super_resolution {factor} needs a network of scale >= {self.factor}; "
                             f"{network.source} upscales x{network.scale}")
        self.upscaler = Upscaler(network.net, network.scale, DEFAULT_TILE, DEFAULT_TILE_OVERLAP)
        logger.info("animated faces upscaled x%d before paste-back (%s)", self.factor, network.source)

    def upscale(self, crops: np.ndarray) -> np.ndarray:
        out = []
        for crop in crops:
            big = self.upscaler.upscale(crop)
            side = crop.shape[0] * self.factor
            if big.shape[0] != side:
                big = cv2.resize(big, (crop.shape[1] * self.factor, side), interpolation=cv2.INTER_AREA)
            out.append(big)
        return np.stack(out)
