"""Mean absolute error between images: FOMM's reconstruction L1.

FOMM's protocol (source = frame 0, every frame driving) reports ``mean |prediction - frame|``
on [0, 1]. ``FirstOrderModel.test_iter`` feeds this metric one driving frame at a time, so
the result is the mean over all frames of all test videos. (FOMM's script averages each
video first, then the videos: the two agree when the videos have the same length.)
"""
from __future__ import annotations

from typing import Any, List

import numpy as np

from ppgan_app.metrics.base import Metric, check_pair, to_unit_numpy
from ppgan_app.registries import METRICS


@METRICS.register
class MeanAbsoluteError(Metric):
    """Mean over images of ``mean |pred - gt|`` on [0, 1] (lower is better).

    Args:
        value_range: ``"[-1,1]"`` or ``"[0,1]"`` (FOMM's images are in [0, 1]).

    ``update(preds, gts)``: two ``[N, C, H, W]`` batches in ``value_range``.
    """

    def __init__(self, value_range: str = "[0,1]") -> None:
        self.value_range = value_range
        self.values: List[float] = []

    def reset(self) -> None:
        self.values = []

    def update(self, preds: Any, gts: Any) -> None:
        pred, gt = check_pair(to_unit_numpy(preds, self.value_range), to_unit_numpy(gts, self.value_range))
        self.values.extend(np.abs(pred - gt).reshape(len(pred), -1).mean(axis=1).tolist())

    def accumulate(self) -> float:
        return float(np.mean(self.values)) if self.values else float("nan")
