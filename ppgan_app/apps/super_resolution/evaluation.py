"""Held-out evaluation of an SR network against bicubic and nearest-neighbour upscaling.

Each picture of a folder is cropped to a multiple of ``scale`` (the ground truth), downscaled with
the training pairs' bicubic filter, and upscaled back by every method. Figures, averaged over
pictures: PSNR and SSIM on the Y channel with ``scale`` border pixels dropped (SR papers'
convention), and a sharpness ratio, the variance of the Laplacian of Y relative to the ground
truth's (1.0: as much fine detail as the original; blur gives less, ringing or noise more).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

import cv2
import numpy as np

from ppgan_app.datasets.image_folder import read_image
from ppgan_app.datasets.sr_pairs import bicubic_resize, centre_crop, downscale, find_pictures, mod_crop
from ppgan_app.metrics.psnr_ssim import PSNR, SSIM, rgb_to_y

Method = Callable[[np.ndarray], np.ndarray]   # [h, w, 3] uint8 -> [s*h, s*w, 3] uint8


def baselines(scale: int) -> Dict[str, Method]:
    """Nearest-neighbour and bicubic (PIL's, as used to make the pairs) upscaling by ``scale``."""
    def nearest(lr: np.ndarray) -> np.ndarray:
        return lr.repeat(scale, axis=0).repeat(scale, axis=1)

    def bicubic(lr: np.ndarray) -> np.ndarray:
        return bicubic_resize(lr, (lr.shape[1] * scale, lr.shape[0] * scale))

    return {"nearest": nearest, "bicubic": bicubic}


def sharpness(img: np.ndarray, border: int) -> float:
    """Variance of the Laplacian of Y of ``[H, W, 3]`` uint8, ``border`` pixels dropped."""
    y = rgb_to_y(img.astype("float64").transpose(2, 0, 1)[None] / 255.0)[0, 0]
    lap = cv2.Laplacian(y, cv2.CV_64F)
    return float(lap[border:-border, border:-border].var()) if border else float(lap.var())


@dataclass
class MethodScores:
    """Per-picture figures of one method (lists in picture order)."""

    psnr_y: List[float] = field(default_factory=list)
    ssim_y: List[float] = field(default_factory=list)
    sharpness_ratio: List[float] = field(default_factory=list)
    seconds: List[float] = field(default_factory=list)

    def means(self) -> Dict[str, float]:
        return {k: float(np.mean(v)) for k, v in vars(self).items()}


def evaluate_folder(folder: str | Path, scale: int, methods: Dict[str, Method],
                    max_pictures: Optional[int] = None, crop: Optional[int] = None) -> Dict[str, MethodScores]:
    """Score every method on every picture of ``folder`` (see the module docstring); ``crop``:
    score the centre ``crop`` x ``crop`` of each picture only (as the training validation does).

    Raises:
        InputError: no folder, no pictures, or an unreadable one.
    """
    pictures = find_pictures(Path(folder))[:max_pictures]
    scores = {name: MethodScores() for name in methods}
    psnr = PSNR(value_range="[0,1]", crop_border=scale, test_y_channel=True)
    ssim = SSIM(value_range="[0,1]", crop_border=scale, test_y_channel=True)
    for path in pictures:
        gt = mod_crop(centre_crop(read_image(path), crop), scale)
        lr = downscale(gt, scale)
        gt_chw = gt.transpose(2, 0, 1)[None] / 255.0
        gt_sharpness = sharpness(gt, scale)
        for name, method in methods.items():
            start = time.perf_counter()
            sr = method(lr)
            elapsed = time.perf_counter() - start
            sr_chw = sr.transpose(2, 0, 1)[None] / 255.0
            for metric in (psnr, ssim):
                metric.reset()
                metric.update(sr_chw, gt_chw)
            row = scores[name]
            row.psnr_y.append(psnr.accumulate())
            row.ssim_y.append(ssim.accumulate())
            row.sharpness_ratio.append(sharpness(sr, scale) / max(gt_sharpness, 1e-12))
            row.seconds.append(elapsed)
    return scores


def time_frame(methods: Dict[str, Method], frame: np.ndarray, repeats: int = 3) -> Dict[str, Dict[str, float]]:
    """Best-of-``repeats`` wall and CPU seconds each method takes on one ``frame`` ``[h, w, 3]``
    uint8 (``{"wall": s, "cpu": s}``; on a shared machine the CPU time is the steadier figure)."""
    timings = {}
    for name, method in methods.items():
        wall = cpu = float("inf")
        for _ in range(repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            method(frame)
            wall, cpu = min(wall, time.perf_counter() - start), min(cpu, time.process_time() - start_cpu)
        timings[name] = {"wall": wall, "cpu": cpu}
    return timings


def format_table(scores: Dict[str, MethodScores], timings: Optional[Dict[str, Dict[str, float]]] = None,
                 frame_side: int = 256, scale: int = 4) -> str:
    """A plain-text table of the mean figures (and per-frame timings when given)."""
    lines = [f"{'method':<12} {'PSNR-Y dB':>10} {'SSIM-Y':>8} {'sharpness':>10} {'s/picture':>10}"]
    for name, row in scores.items():
        m = row.means()
        lines.append(f"{name:<12} {m['psnr_y']:>10.3f} {m['ssim_y']:>8.4f} {m['sharpness_ratio']:>10.3f} "
                     f"{m['seconds']:>10.3f}")
    if timings:
        side = frame_side * scale
        lines.append(f"seconds per {frame_side}x{frame_side} -> {side}x{side} frame, wall (CPU): "
                     + ", ".join(f"{k} {v['wall']:.4f} ({v['cpu']:.4f})" for k, v in timings.items()))
    return "\n".join(lines)


def detailed_crop(img: np.ndarray, side: int) -> tuple:
    """``(top, left)`` of the ``side`` x ``side`` window with the most fine detail (Laplacian
    variance of Y, on a half-window grid): where upscaling methods differ most."""
    h, w = img.shape[:2]
    best, where = -1.0, (0, 0)
    for top in range(0, max(h - side, 0) + 1, max(side // 2, 1)):
        for left in range(0, max(w - side, 0) + 1, max(side // 2, 1)):
            score = sharpness(img[top:top + side, left:left + side], 0)
            if score > best:
                best, where = score, (top, left)
    return where


def comparison_picture(gt: np.ndarray, scale: int, methods: Dict[str, Method], side: int = 96,
                       zoom: int = 2) -> np.ndarray:
    """Side by side crops of every method's upscale of ``gt``'s bicubic downscale, then the
    original, each ``side`` px of ``gt`` enlarged ``zoom`` times (nearest) and labelled.

    Returns ``[zoom*side + 24, n*(zoom*side + 4), 3]`` uint8 RGB.
    """
    gt = mod_crop(gt, scale)
    lr = downscale(gt, scale)
    top, left = detailed_crop(gt, side)
    top, left = top - top % scale, left - left % scale
    panels = {name: method(lr) for name, method in methods.items()}
    panels["original"] = gt
    return labelled_strip({name: img[top:top + side, left:left + side] for name, img in panels.items()},
                          zoom)


def labelled_strip(panels: Dict[str, np.ndarray], zoom: int = 2) -> np.ndarray:
    """Equal-sized ``[h, w, 3]`` uint8 panels side by side, each enlarged ``zoom`` times
    (nearest) under a 24 px label with its name; ``[zoom*h + 24, n*(zoom*w + 4), 3]`` uint8."""
    tiles = []
    for name, img in panels.items():
        crop = img.repeat(zoom, axis=0).repeat(zoom, axis=1)
        label = np.full((24, crop.shape[1], 3), 255, np.uint8)
        cv2.putText(label, name, (4, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
        tiles.append(np.pad(np.vstack([label, crop]), ((0, 0), (0, 4), (0, 0)), constant_values=255))
    return np.hstack(tiles)
