"""Super-resolution pairs made on the fly from any folder of high-resolution pictures.

Each item is a high-resolution crop ``gt`` and its low-resolution version ``lq``: the crop
downscaled ``scale`` times with an anti-aliased bicubic filter (MATLAB ``imresize``'s, as SR
papers use), optionally through a Real-ESRGAN-style degradation first (Gaussian blur of the
crop, then Gaussian noise and JPEG compression of the small image).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

import cv2
import numpy as np
from paddle.io import Dataset
from PIL import Image

from ppgan_app.datasets.image_folder import IMAGE_EXTENSIONS, read_image
from ppgan_app.errors import ConfigError, InputError
from ppgan_app.registries import DATASETS

logger = logging.getLogger(__name__)

MODES = ("train", "test")
DEGRADATION_KEYS = {"blur_prob", "blur_sigma", "noise_prob", "noise_sigma", "jpeg_prob", "jpeg_quality"}


def bicubic_resize(img: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """``[H, W, 3]`` uint8 -> ``[h, w, 3]`` uint8 with ``size = (w, h)``; PIL's bicubic, which
    widens its kernel when shrinking (anti-aliased, as MATLAB's ``imresize``)."""
    return np.asarray(Image.fromarray(img).resize(tuple(int(s) for s in size), Image.BICUBIC))


def downscale(img: np.ndarray, scale: int) -> np.ndarray:
    """``[H, W, 3]`` uint8 with H, W multiples of ``scale`` -> ``[H / scale, W / scale, 3]``."""
    h, w = img.shape[:2]
    return bicubic_resize(img, (w // scale, h // scale))


def mod_crop(img: np.ndarray, scale: int) -> np.ndarray:
    """Drop the last rows/columns so that H and W are multiples of ``scale``."""
    h, w = img.shape[:2]
    return img[:h - h % scale, :w - w % scale]


def _uniform(rng: np.random.RandomState, bounds: Sequence[float]) -> float:
    low, high = bounds
    return float(rng.uniform(low, high))


def degrade(hr: np.ndarray, scale: int, cfg: Mapping[str, Any], rng: np.random.RandomState) -> np.ndarray:
    """Real-ESRGAN-style first-order degradation of ``hr`` ``[H, W, 3]`` uint8 -> low-res uint8.

    ``cfg``: ``blur_prob``, ``blur_sigma [lo, hi]`` (pixels of ``hr``), ``noise_prob``,
    ``noise_sigma [lo, hi]`` (of 255), ``jpeg_prob``, ``jpeg_quality [lo, hi]``.
    """
    img = hr
    if rng.random_sample() < cfg.get("blur_prob", 0.0):
        sigma = _uniform(rng, cfg.get("blur_sigma", (0.2, 2.0)))
        img = cv2.GaussianBlur(img, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT_101)
    img = downscale(img, scale)
    if rng.random_sample() < cfg.get("noise_prob", 0.0):
        sigma = _uniform(rng, cfg.get("noise_sigma", (1.0, 10.0)))
        noisy = img.astype("float32") + rng.standard_normal(img.shape).astype("float32") * sigma
        img = np.clip(np.rint(noisy), 0, 255).astype("uint8")
    if rng.random_sample() < cfg.get("jpeg_prob", 0.0):
        quality = int(round(_uniform(rng, cfg.get("jpeg_quality", (40, 95)))))
        ok, data = cv2.imencode(".jpg", img[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        img = cv2.imdecode(data, cv2.IMREAD_COLOR)[:, :, ::-1] if ok else img
    return np.ascontiguousarray(img)


def to_chw(img: np.ndarray) -> np.ndarray:
    """``[H, W, 3]`` uint8 -> ``[3, H, W]`` float32 in [0, 1]."""
    return np.ascontiguousarray(img.transpose(2, 0, 1), dtype="float32") / 255.0


@DATASETS.register
class SRPairsDataset(Dataset):
    """Items ``{"lq": [3, h, w], "gt": [3, scale*h, scale*w]}`` float32 in [0, 1].

    Args:
        data_root: a folder of pictures (searched recursively), larger than ``gt_size``.
        scale: the upscaling factor (2, 3, 4, ...).
        mode: ``train``: random ``gt_size`` crops with random flips and transposes,
            ``crops_per_image`` of them per picture and epoch; ``test``: one pair per
            picture, its centre ``gt_size`` crop (the whole picture when ``gt_size`` is null),
            made deterministically.
        gt_size: side of the high-resolution crop (a multiple of ``scale``).
        crops_per_image: items per picture and epoch (train).
        degradation: None for plain bicubic, or a mapping (see ``degrade``).
        max_images: use the first N pictures only (in name order).
        cache: keep decoded pictures in memory (a few large photos read once).

    Loader keys (``batch_size``, ``num_workers``, ...) are popped by the engine.
    """

    def __init__(self, data_root: str, scale: int = 4, mode: str = "train", gt_size: Optional[int] = 128,
                 crops_per_image: int = 100, degradation: Optional[Mapping[str, Any]] = None,
                 max_images: Optional[int] = None, cache: bool = True,
                 extensions: Sequence[str] = IMAGE_EXTENSIONS) -> None:
        super().__init__()
        self.scale, self.mode, self.gt_size = int(scale), mode, gt_size
        self._check_args(crops_per_image, degradation)
        self.crops_per_image = int(crops_per_image) if mode == "train" else 1
        self.degradation = dict(degradation) if degradation else None
        self.paths = find_pictures(Path(data_root), extensions)[:max_images]
        self.cache = cache
        self._images: Dict[int, np.ndarray] = {}
        logger.info("SR pairs from %s: %d pictures, x%d, %s, %s", data_root, len(self.paths), self.scale,
                    mode, "degraded" if self.degradation else "bicubic")

    def _check_args(self, crops_per_image: int, degradation: Optional[Mapping[str, Any]]) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"SRPairsDataset mode must be one of {MODES}, got {self.mode!r}")
        if self.scale < 1:
            raise ConfigError(f"SRPairsDataset scale must be >= 1, got {self.scale}")
        if self.gt_size is None and self.mode == "train":
            raise ConfigError("SRPairsDataset needs gt_size (the crop side) in train mode")
        if self.gt_size is not None and (self.gt_size <= 0 or self.gt_size % self.scale):
            raise ConfigError(f"SRPairsDataset gt_size must be a positive multiple of scale {self.scale}, "
                              f"got {self.gt_size}")
        if crops_per_image < 1:
            raise ConfigError(f"SRPairsDataset crops_per_image must be >= 1, got {crops_per_image}")
        unknown = set(degradation or {}) - DEGRADATION_KEYS
        if unknown:
            raise ConfigError(f"unknown degradation keys {sorted(unknown)}; known: {sorted(DEGRADATION_KEYS)}")

    def __len__(self) -> int:
        return len(self.paths) * self.crops_per_image

    def picture(self, index: int) -> np.ndarray:
        """Picture ``index`` as ``[H, W, 3]`` RGB uint8 (checked to hold one ``gt_size`` crop)."""
        img = self._images.get(index)
        if img is None:
            img = read_image(self.paths[index])
            if self.gt_size is not None and min(img.shape[:2]) < self.gt_size:
                raise InputError(f"picture {self.paths[index]} is {img.shape[1]}x{img.shape[0]}, smaller "
                                 f"than gt_size {self.gt_size}; remove it or lower gt_size")
            if self.cache:
                self._images[index] = img
        return img

    def __getitem__(self, index: int) -> Dict[str, np.ndarray]:
        picture = self.picture(index // self.crops_per_image)
        if self.mode == "train":
            rng = np.random  # the engine seeds numpy's generator: a resumed run replays the crops
            gt = _augment(_random_crop(picture, self.gt_size, rng), rng)
        else:
            rng = np.random.RandomState(index)
            gt = mod_crop(centre_crop(picture, self.gt_size), self.scale)
        lq = degrade(gt, self.scale, self.degradation, rng) if self.degradation else downscale(gt, self.scale)
        return {"lq": to_chw(lq), "gt": to_chw(gt)}


def find_pictures(root: Path, extensions: Sequence[str] = IMAGE_EXTENSIONS) -> List[Path]:
    """Picture files under ``root`` (recursively), sorted.

    Raises:
        InputError: ``root`` is not a folder or holds no pictures.
    """
    if not root.is_dir():
        raise InputError(f"picture folder {root.resolve()} does not exist; point dataroot "
                         f"(evaluate_sr: --pictures) at a folder of high-resolution pictures")
    paths = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in extensions)
    if not paths:
        raise InputError(f"no pictures ({', '.join(extensions)}) under {root.resolve()}")
    return paths


def _random_crop(img: np.ndarray, size: int, rng: Any) -> np.ndarray:
    h, w = img.shape[:2]
    top, left = rng.randint(0, h - size + 1), rng.randint(0, w - size + 1)
    return img[top:top + size, left:left + size]


def centre_crop(img: np.ndarray, size: Optional[int]) -> np.ndarray:
    """The centre ``size`` x ``size`` window of ``[H, W, C]`` (the whole image when ``size`` is None)."""
    if size is None:
        return img
    h, w = img.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    return img[top:top + size, left:left + size]


def _augment(img: np.ndarray, rng: Any) -> np.ndarray:
    """Random horizontal flip, vertical flip and transpose (the 8 symmetries of the square)."""
    if rng.random_sample() < 0.5:
        img = img[:, ::-1]
    if rng.random_sample() < 0.5:
        img = img[::-1]
    if rng.random_sample() < 0.5:
        img = img.transpose(1, 0, 2)
    return np.ascontiguousarray(img)
