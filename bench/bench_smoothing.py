"""Keypoint jitter with and without ``--smooth`` (the causal One-Euro filter).

Two measurements, each printed as a table row:

* **still clip through a keypoint detector**: frame 0 of the bundled driving clip repeated
  ``--frames`` times with camera noise (Gaussian pixel noise, sigma 2 levels, and random
  sub-pixel shifts up to 0.5 px), through the FOMM keypoint detector (the packaged tiny
  architecture with seeded random weights: the official weights are not available offline).
  Jitter = mean frame-to-frame keypoint motion, in keypoint units ([-1, 1] spans the frame).
* **synthetic keypoints**: 10 keypoints still or nodding (amplitude 0.15, 1 Hz) plus detector
  noise (sigma 0.01): jitter when still, and RMS error to the true motion when moving (the cost
  of smoothing: lag).

Usage: python bench/bench_smoothing.py [--frames 100] [--fps 25]
"""
from __future__ import annotations

import argparse

import cv2
import numpy as np

from harness import random_fomm


def still_clip(frames: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """``[T,3,S,S] float32`` in [0, 1]: one frame with camera noise."""
    from ppgan_app.apps.expression_transfer.predictor import sample_paths
    from ppgan_app.media.video import VideoReader

    first = next(iter(VideoReader(sample_paths()[1])))
    base = cv2.resize(first, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
    out = np.empty((frames, 3, size, size), np.float32)
    for t in range(frames):
        shift = np.float32([[1, 0, rng.uniform(-0.5, 0.5)], [0, 1, rng.uniform(-0.5, 0.5)]])
        moved = cv2.warpAffine(base, shift, (size, size), borderMode=cv2.BORDER_REFLECT)
        noisy = np.clip(moved + rng.normal(0, 2.0, moved.shape), 0, 255)
        out[t] = noisy.transpose(2, 0, 1) / 255.0
    return out


def detector_keypoints(clip: np.ndarray) -> dict:
    import paddle

    from ppgan_app.utils.resources import packaged_config

    kp_detector, _ = random_fomm(str(packaged_config("firstorder_tiny_64")), bias_std=0.1)
    kp_detector.eval()
    with paddle.no_grad():
        out = kp_detector(paddle.to_tensor(clip))
    return {k: out[k].numpy() for k in ("value", "jacobian") if k in out}


def row(name: str, raw: float, smooth: float, unit: str) -> str:
    return f"| {name} | {raw:.4f} | {smooth:.4f} | {100 * (1 - smooth / raw):.0f}% | {unit} |"


def main() -> None:
    from ppgan_app.faces.smoothing import BETA, MIN_CUTOFF, KeypointSmoother, \
        frame_to_frame_motion

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--fps", type=float, default=25.0)
    args = parser.parse_args()
    rng = np.random.default_rng(0)

    kp = detector_keypoints(still_clip(args.frames, 64, rng))
    smoothed = KeypointSmoother(args.fps)(kp)
    jac_raw = np.abs(np.diff(kp["jacobian"], axis=0)).mean()
    jac_smooth = np.abs(np.diff(smoothed["jacobian"], axis=0)).mean()

    t = np.arange(args.frames) / args.fps
    rest = np.tile(rng.uniform(-0.5, 0.5, (1, 10, 2)), (args.frames, 1, 1))
    noise = rng.normal(0, 0.01, rest.shape)
    nod = rest + 0.15 * np.sin(2 * np.pi * t)[:, None, None]
    still_s = KeypointSmoother(args.fps)(rest + noise)
    nod_s = KeypointSmoother(args.fps)(nod + noise)

    print(f"One-Euro: min_cutoff {MIN_CUTOFF} Hz, beta {BETA}; {args.frames} frames at "
          f"{args.fps:g} fps\n")
    print("| measurement | without --smooth | with --smooth | reduction | unit |")
    print("|---|---|---|---|---|")
    print(row("still clip, detector keypoints: jitter", frame_to_frame_motion(kp["value"]),
              frame_to_frame_motion(smoothed["value"]), "kp units/frame"))
    print(row("still clip, detector jacobians: jitter", jac_raw, jac_smooth, "mean |dJ|/frame"))
    print(row("synthetic still + noise: jitter", frame_to_frame_motion(rest + noise),
              frame_to_frame_motion(still_s), "kp units/frame"))
    rms_raw = float(np.sqrt((noise ** 2).mean()))
    rms_s = float(np.sqrt(((nod_s - nod) ** 2).mean()))
    print(f"| synthetic nod (0.15, 1 Hz) + noise: RMS error to the truth | {rms_raw:.4f} | "
          f"{rms_s:.4f} | {100 * (1 - rms_s / rms_raw):.0f}% | kp units |")


if __name__ == "__main__":
    main()
