"""Causal smoothing of driving keypoints (``--smooth``): the One-Euro filter.

Casiez, Roussel and Vogel (CHI 2012): a first-order low-pass filter whose cut-off frequency
rises with the signal's speed, so a still face stops jittering while fast motion keeps little
lag. Causal (each frame depends only on earlier ones), so it runs on the streamed video chunk by
chunk. Applied to the keypoint values and, separately, to the jacobians.
"""
from __future__ import annotations

import math
from typing import Any, Dict, Mapping, Optional, Union

import numpy as np

#: Default cut-off at rest (Hz): keypoint jitter above this frequency is removed when still.
MIN_CUTOFF = 1.0
#: Default speed coefficient: the cut-off rises by ``BETA`` Hz per keypoint unit per second.
BETA = 20.0
#: Cut-off (Hz) of the low-pass on the speed estimate.
D_CUTOFF = 1.0


def _alpha(cutoff: Union[float, np.ndarray], rate: float) -> Union[float, np.ndarray]:
    """Smoothing factor of a first-order low-pass at ``cutoff`` Hz sampled at ``rate`` Hz."""
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau * rate)


class OneEuroFilter:
    """One-Euro filter over arrays of any fixed shape, one time step per call.

    Args:
        rate: samples per second (the driving video's fps).
        min_cutoff: cut-off at rest, Hz.
        beta: cut-off increase per unit of speed (units/s).
        d_cutoff: cut-off of the speed estimate, Hz.
    """

    def __init__(self, rate: float, min_cutoff: float = MIN_CUTOFF, beta: float = BETA,
                 d_cutoff: float = D_CUTOFF) -> None:
        if rate <= 0 or min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise ValueError("OneEuroFilter needs rate, min_cutoff, d_cutoff > 0 and beta >= 0")
        self.rate = rate
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.d_cutoff = d_cutoff
        self._x: Optional[np.ndarray] = None
        self._dx: Optional[np.ndarray] = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Filter one sample ``x`` (float array); returns the smoothed sample (float32)."""
        x = np.asarray(x, np.float64)
        if self._x is None:
            self._x, self._dx = x.copy(), np.zeros_like(x)
            return x.astype(np.float32)
        speed = (x - self._x) * self.rate
        a_d = _alpha(self.d_cutoff, self.rate)
        self._dx = a_d * speed + (1.0 - a_d) * self._dx
        a = _alpha(self.min_cutoff + self.beta * np.abs(self._dx), self.rate)
        self._x = a * x + (1.0 - a) * self._x
        return self._x.astype(np.float32)


class KeypointSmoother:
    """Smooths batches of driving keypoints in frame order (state kept across batches).

    Keypoints are what the animator returns: an array ``[N,...]`` or a mapping of such arrays
    (FOMM: ``value [N,K,2]``, ``jacobian [N,K,2,2]``); each key has its own filter. Paddle
    tensors come back as Paddle tensors, numpy arrays as numpy arrays.
    """

    def __init__(self, rate: float, min_cutoff: float = MIN_CUTOFF, beta: float = BETA) -> None:
        self.rate = rate
        self.min_cutoff = min_cutoff
        self.beta = beta
        self._filters: Dict[str, OneEuroFilter] = {}

    def _smooth(self, key: str, batch: Any) -> Any:
        is_tensor = hasattr(batch, "numpy") and not isinstance(batch, np.ndarray)
        values = np.asarray(batch.numpy() if is_tensor else batch, np.float32)
        filt = self._filters.setdefault(key, OneEuroFilter(self.rate, self.min_cutoff, self.beta))
        out = np.stack([filt(sample) for sample in values]).astype(np.float32)
        if is_tensor:  # give the engine back what it gave (dygraph keeps Paddle tensors)
            import paddle

            return paddle.to_tensor(out, place=batch.place)
        return out

    def __call__(self, keypoints: Any) -> Any:
        """Smoothed copy of one batch of keypoints (same structure)."""
        if isinstance(keypoints, Mapping):
            return {key: self._smooth(key, value) for key, value in keypoints.items()}
        return self._smooth("", keypoints)


def frame_to_frame_motion(values: np.ndarray) -> float:
    """Mean distance a keypoint moves between consecutive frames: ``values [T,K,2]`` → float
    (the jitter figure on a still clip)."""
    values = np.asarray(values, np.float64)
    return float(np.linalg.norm(np.diff(values, axis=0), axis=-1).mean())
