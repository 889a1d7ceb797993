"""Full-reference image metrics, averaged over images: PSNR (dB) and SSIM (Wang et al., 2004).

Both take ``[N, C, H, W]`` images in ``value_range`` (``"[-1,1]"``, the kit's convention, or
``"[0,1]"``) and compute on [0, 1] (peak value 1). Super-resolution papers (and PaddleGAN's SR
configs) compare the Y channel of YCbCr with ``scale`` border pixels dropped: ``test_y_channel:
true, crop_border: <scale>``.
"""
from __future__ import annotations

from typing import Any, List

import numpy as np

from ppgan_app.metrics.base import Metric, check_pair, to_unit_numpy
from ppgan_app.registries import METRICS

# ITU-R BT.601 luma of RGB in [0, 1], as MATLAB's rgb2ycbcr: Y in [16/255, 235/255]
_Y_WEIGHTS = np.array([65.481, 128.553, 24.966]) / 255.0
_Y_OFFSET = 16.0 / 255.0


def rgb_to_y(images: np.ndarray) -> np.ndarray:
    """``[N, 3, H, W]`` RGB in [0, 1] -> ``[N, 1, H, W]`` luma Y (BT.601, studio range)."""
    if images.shape[1] != 3:
        raise ValueError(f"test_y_channel needs RGB images [N, 3, H, W], got {images.shape}")
    return (np.tensordot(_Y_WEIGHTS, images, axes=([0], [1])) + _Y_OFFSET)[:, None]


def prepare_pair(preds: Any, gts: Any, value_range: str, crop_border: int,
                 y_channel: bool) -> tuple:
    """Both sides as float64 ``[N, C, H, W]`` in [0, 1], as Y when ``y_channel``, border cropped."""
    pred, gt = check_pair(to_unit_numpy(preds, value_range), to_unit_numpy(gts, value_range))
    if y_channel:
        pred, gt = rgb_to_y(pred), rgb_to_y(gt)
    if crop_border:
        b = crop_border
        pred, gt = pred[..., b:-b, b:-b], gt[..., b:-b, b:-b]
    return pred, gt


@METRICS.register
class PSNR(Metric):
    """Mean over images of ``10 log10(1 / MSE)``; identical images count as ``max_db``.

    Args:
        value_range: ``"[-1,1]"`` or ``"[0,1]"``.
        crop_border: pixels dropped at each border before comparing.
        max_db: value used when an image pair is identical (infinite PSNR).
        test_y_channel: compare the luma Y (``rgb_to_y``) instead of the RGB channels.
    """

    def __init__(self, value_range: str = "[-1,1]", crop_border: int = 0, max_db: float = 100.0,
                 test_y_channel: bool = False) -> None:
        self.value_range, self.crop_border, self.max_db = value_range, int(crop_border), float(max_db)
        self.test_y_channel = bool(test_y_channel)
        self.values: List[float] = []

    def reset(self) -> None:
        self.values = []

    def update(self, preds: Any, gts: Any) -> None:
        pred, gt = prepare_pair(preds, gts, self.value_range, self.crop_border, self.test_y_channel)
        mse = ((pred - gt) ** 2).reshape(len(pred), -1).mean(axis=1)
        with np.errstate(divide="ignore"):
            psnr = np.where(mse > 0, 10.0 * np.log10(1.0 / np.maximum(mse, 1e-300)), self.max_db)
        self.values.extend(np.minimum(psnr, self.max_db).tolist())

    def accumulate(self) -> float:
        return float(np.mean(self.values)) if self.values else float("nan")


def gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    """A normalised 1-D Gaussian of ``size`` taps."""
    x = np.arange(size, dtype="float64") - (size - 1) / 2.0
    w = np.exp(-(x ** 2) / (2.0 * sigma ** 2))
    return w / w.sum()


def _filter_valid(img: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Separable 'valid' filtering of ``[..., H, W]`` by ``window`` along H and W."""
    k = len(window)
    rows = np.lib.stride_tricks.sliding_window_view(img, k, axis=-2) @ window
    return np.lib.stride_tricks.sliding_window_view(rows, k, axis=-1) @ window


@METRICS.register
class SSIM(Metric):
    """Mean over images (and channels) of SSIM with an 11-tap Gaussian window, sigma 1.5.

    K1 = 0.01, K2 = 0.03, peak 1, statistics over the window's valid positions (as
    Wang et al. and ``skimage.metrics.structural_similarity(gaussian_weights=True,
    use_sample_covariance=False, data_range=1)``). Images need H, W >= ``window_size``.
    ``crop_border`` and ``test_y_channel`` as for ``PSNR``.
    """

    def __init__(self, value_range: str = "[-1,1]", window_size: int = 11, sigma: float = 1.5,
                 crop_border: int = 0, test_y_channel: bool = False) -> None:
        self.value_range, self.crop_border = value_range, int(crop_border)
        self.test_y_channel = bool(test_y_channel)
        self.window = gaussian_window(window_size, sigma)
        self.values: List[float] = []

    def reset(self) -> None:
        self.values = []

    def update(self, preds: Any, gts: Any) -> None:
        x, y = prepare_pair(preds, gts, self.value_range, self.crop_border, self.test_y_channel)
        if min(x.shape[-2:]) < len(self.window):
            raise ValueError(f"SSIM needs images of at least {len(self.window)} pixels a side, got {x.shape}")
        self.values.extend(self.ssim_map(x, y).mean(axis=(1, 2, 3)).tolist())

    def ssim_map(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Local SSIM of ``[N, C, H, W]`` images in [0, 1]: ``[N, C, H - k + 1, W - k + 1]``."""
        c1, c2 = 0.01 ** 2, 0.03 ** 2
        f = lambda a: _filter_valid(a, self.window)  # noqa: E731
        mu_x, mu_y = f(x), f(y)
        var_x = f(x * x) - mu_x ** 2
        var_y = f(y * y) - mu_y ** 2
        cov = f(x * y) - mu_x * mu_y
        return ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2))

    def accumulate(self) -> float:
        return float(np.mean(self.values)) if self.values else float("nan")
