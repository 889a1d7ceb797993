"""Clip augmentation for FOMM training: one random draw per clip, applied to all its frames.

Configured as in the First Order Motion Model (``augmentation_params``)::

    augmentation_params:
      flip_param: {horizontal_flip: true, time_flip: true}       # each with probability 0.5
      jitter_param: {brightness: 0.1, contrast: 0.1, saturation: 0.1, hue: 0.1}

PaddleGAN's dataset entries express the same with ``time_flip: true`` and a ``transforms``
list of ``PairedRandomHorizontalFlip {prob}`` and ``PairedColorJitter {brightness, ...}``;
:func:`augmentation_from_paddlegan` translates them.

Colour jitter follows torchvision's ``ColorJitter`` factors: brightness, contrast and
saturation factors are drawn from ``[max(0, 1 - v), 1 + v]``, the hue shift from ``[-v, v]``
(fraction of the hue circle, ``v <= 0.5``); they are applied in that fixed order.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence

import cv2
import numpy as np

_JITTER_KEYS = ("brightness", "contrast", "saturation", "hue")
_FLIP_KEYS = ("horizontal_flip", "time_flip")
_GRAY = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601 luma, as torchvision


def _probability(value: Any) -> float:
    """``True`` -> 0.5 (FOMM's coin flip), ``False``/None -> 0, a number -> itself."""
    if value is None or value is False:
        return 0.0
    if value is True:
        return 0.5
    prob = float(value)
    if not 0.0 <= prob <= 1.0:
        raise ValueError(f"a flip probability must be in [0, 1], got {value!r}")
    return prob


def _check_keys(section: str, params: Mapping[str, Any], known: Sequence[str]) -> None:
    unknown = sorted(set(params) - set(known))
    if unknown:
        where = "augmentation_params" + ("" if section == "<top>" else f".{section}")
        raise ValueError(f"{where}: unknown key(s) {unknown}; known: {list(known)}")


def _luma(frame: np.ndarray) -> np.ndarray:
    """``[H, W, 3]`` float32 -> ``[H, W, 1]`` grey."""
    return (frame @ _GRAY)[:, :, None]


def _shift_hue(frame: np.ndarray, shift: float) -> np.ndarray:
    """Rotate the hue of ``[H, W, 3]`` float32 RGB in [0, 1] by ``shift`` turns."""
    hsv = cv2.cvtColor(frame, cv2.COLOR_RGB2HSV)          # float input: H in [0, 360)
    hsv[:, :, 0] = np.mod(hsv[:, :, 0] + shift * 360.0, 360.0)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


class ClipAugmentation:
    """Random flips and colour jitter, shared by all frames of one clip.

    Args:
        flip_param: ``{horizontal_flip, time_flip}``: bools (probability 0.5 when true) or
            probabilities.
        jitter_param: ``{brightness, contrast, saturation, hue}`` (0 or absent = off).

    Call: a list of ``[H, W, 3]`` float32 frames in [0, 1] -> a list of the same length and
    shapes, in [0, 1] (possibly reversed in time, mirrored and re-coloured). Draws from
    numpy's global generator, which the engine seeds and checkpoints.
    """

    def __init__(self, flip_param: Optional[Mapping[str, Any]] = None,
                 jitter_param: Optional[Mapping[str, Any]] = None) -> None:
        flip_param, jitter_param = dict(flip_param or {}), dict(jitter_param or {})
        _check_keys("flip_param", flip_param, _FLIP_KEYS)
        _check_keys("jitter_param", jitter_param, _JITTER_KEYS)
        self.hflip_prob = _probability(flip_param.get("horizontal_flip"))
        self.time_flip_prob = _probability(flip_param.get("time_flip"))
        self.jitter = {k: float(jitter_param.get(k) or 0.0) for k in _JITTER_KEYS}
        if any(v < 0 for v in self.jitter.values()) or self.jitter["hue"] > 0.5:
            raise ValueError(f"jitter_param values must be >= 0 (hue <= 0.5), got {jitter_param}")

    @property
    def active(self) -> bool:
        """Whether any augmentation can change a clip."""
        return bool(self.hflip_prob or self.time_flip_prob or any(self.jitter.values()))

    def draw_jitter(self) -> Dict[str, float]:
        """One set of colour factors: brightness/contrast/saturation factors and a hue shift."""
        factors = {}
        for key in ("brightness", "contrast", "saturation"):
            v = self.jitter[key]
            factors[key] = float(np.random.uniform(max(0.0, 1.0 - v), 1.0 + v)) if v else 1.0
        v = self.jitter["hue"]
        factors["hue"] = float(np.random.uniform(-v, v)) if v else 0.0
        return factors

    @staticmethod
    def apply_jitter(frame: np.ndarray, factors: Mapping[str, float]) -> np.ndarray:
        """Colour-jitter one ``[H, W, 3]`` float32 frame in [0, 1] with fixed ``factors``."""
        out = frame
        if factors["brightness"] != 1.0:
            out = np.clip(out * factors["brightness"], 0.0, 1.0)
        if factors["contrast"] != 1.0:
            mean = float(_luma(out).mean())
            out = np.clip((out - mean) * factors["contrast"] + mean, 0.0, 1.0)
        if factors["saturation"] != 1.0:
            grey = _luma(out)
            out = np.clip((out - grey) * factors["saturation"] + grey, 0.0, 1.0)
        if factors["hue"] != 0.0:
            out = np.clip(_shift_hue(np.ascontiguousarray(out, dtype=np.float32), factors["hue"]),
                          0.0, 1.0)
        return out.astype(np.float32, copy=False)

    def __call__(self, frames: List[np.ndarray]) -> List[np.ndarray]:
        frames = list(frames)
        if self.time_flip_prob and np.random.rand() < self.time_flip_prob:
            frames = frames[::-1]
        if self.hflip_prob and np.random.rand() < self.hflip_prob:
            frames = [np.ascontiguousarray(f[:, ::-1]) for f in frames]
        if any(self.jitter.values()):
            factors = self.draw_jitter()
            frames = [self.apply_jitter(f, factors) for f in frames]
        return frames


def build_clip_augmentation(params: Optional[Mapping[str, Any]]) -> ClipAugmentation:
    """``augmentation_params`` -> ``ClipAugmentation``; sections other than ``flip_param`` and
    ``jitter_param`` (FOMM's rotation/resize/crop, used for other datasets) are refused."""
    params = dict(params or {})
    _check_keys("<top>", params, ("flip_param", "jitter_param"))
    return ClipAugmentation(params.get("flip_param"), params.get("jitter_param"))


def augmentation_from_paddlegan(transforms: Optional[Sequence[Mapping[str, Any]]],
                                time_flip: Optional[bool]) -> Dict[str, Dict[str, Any]]:
    """PaddleGAN's ``transforms`` list + ``time_flip`` -> FOMM ``augmentation_params``.

    Supported transform names: ``PairedRandomHorizontalFlip`` (``prob``, default 0.5) and
    ``PairedColorJitter`` (``brightness``, ``contrast``, ``saturation``, ``hue``); ``keys``
    entries are ignored (both frames are always transformed together).
    """
    flip: Dict[str, Any] = {}
    jitter: Dict[str, Any] = {}
    if time_flip is not None:
        flip["time_flip"] = bool(time_flip)
    for entry in transforms or ():
        name = entry.get("name")
        if name == "PairedRandomHorizontalFlip":
            flip["horizontal_flip"] = float(entry.get("prob", 0.5))
        elif name == "PairedColorJitter":
            jitter.update({k: entry[k] for k in _JITTER_KEYS if k in entry})
        else:
            raise ValueError(f"FirstOrderDataset transforms: unsupported {name!r}; supported: "
                             f"PairedRandomHorizontalFlip, PairedColorJitter "
                             f"(or use augmentation_params)")
    return {"flip_param": flip, "jitter_param": jitter}
