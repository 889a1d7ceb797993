"""Faces that stand close together: what each face's animation changes, before and after masking.

Synthetic group pictures: the astronaut's head (``skimage.data.astronaut()``, the kit's sample
portrait) beside its mirror image, the gap between the two face boxes going from one face width
down to 0 (touching). At every gap, the YuNet faces are found, then the pipeline's steps
(crop, fill, keypoints, animate, paste back) run with the packaged tiny FOMM architecture and
seeded random weights (the official weights are not available offline) on the first driving
frames of the bundled sample, twice: ``before`` (the crop shows the neighbour as it is and the
paste-back mask ignores it) and ``after`` (neighbours filled and kept out). Measured:

* ``single max diff``: animating only the largest face, the largest change (levels, 0-255) of
  any pixel of the other face's region, over the frames;
* ``multi max diff``: with ``--multi_person``, the largest difference on each face's region
  between the result and the result of pasting that face alone (what the other face's
  animation did to it);
* ``kp shift``: the largest change of a face's source keypoints (keypoint units, [-1, 1] spans
  the crop) when the neighbour's face is replaced by noise: how much the neighbour pulls them;
* ``kp on the other face``: how many of face 1's 10 source keypoints lie in the other face's
  region (random weights do not put keypoints on facial features, so this only says whether
  the neighbour attracts them).

``--picture`` writes a comparison picture, one row per gap: the group, face 1's crop as the
network sees it (before, after), and the ``--multi_person`` result (before, after) where each
face's "animation" is its own crop tinted (face 1 red, face 2 blue), so the colours show which
face's paste reached which pixels.

Usage: python bench/bench_close_faces.py [--frames 6] [--picture docs/close_faces.jpg]
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
from typing import List, Tuple

import cv2
import numpy as np

#: Gaps between the two face boxes, in face widths.
GAPS = (1.0, 0.6, 0.3, 0.1, 0.0)


def group_picture(gap: float) -> np.ndarray:
    """``[H,W,3] uint8``: the astronaut's head and its mirror image, face boxes ``gap`` face
    widths apart (YuNet's face spans x 176-273 in ``astronaut()``)."""
    from skimage import data

    image = data.astronaut()[10:330]
    right_edge = 273 + int(round(gap * 97 / 2))
    left = image[:, 90:right_edge]
    return np.ascontiguousarray(np.concatenate([left, left[:, ::-1]], axis=1))


def tiny_animator(folder: str):
    import paddle

    from ppgan_app.apps.expression_transfer.fomm_animator import build_fomm_animator
    from ppgan_app.models.firstorder import build_fomm_networks
    from ppgan_app.models.firstorder.build import randomize_fomm_weights
    from ppgan_app.utils.resources import packaged_config

    config = str(packaged_config("firstorder_tiny_64"))
    paddle.seed(0)
    kp_detector, generator = build_fomm_networks(config)
    rng = np.random.default_rng(0)
    randomize_fomm_weights(kp_detector, rng)
    randomize_fomm_weights(generator, rng)
    weights = os.path.join(folder, "tiny.pdparams")
    paddle.save({"kp_detector": kp_detector.state_dict(),
                 "generator": generator.state_dict()}, weights)
    return build_fomm_animator(config=config, weight_path=weights, image_size=64,
                               engine="dygraph")


def driving_frames(count: int, size: int) -> np.ndarray:
    from ppgan_app.apps.expression_transfer.predictor import sample_paths
    from ppgan_app.media.video import VideoReader

    frames = []
    for frame in VideoReader(sample_paths()[1]):
        frames.append(cv2.resize(frame, (size, size), interpolation=cv2.INTER_AREA))
        if len(frames) == count:
            break
    return np.stack(frames)


def portraits(image: np.ndarray, faces, crops) -> Tuple[object, object]:
    """The two-face portrait with neighbours kept out (``after``) and without (``before``)."""
    from ppgan_app.apps.expression_transfer.portrait import Portrait, neighbour_keep_out

    after = Portrait(path="group", image=image, boxes=crops, whole=False, faces=faces,
                     keep_out=neighbour_keep_out(image.shape[:2], faces, crops))
    return dataclasses.replace(after, keep_out=[None] * len(crops)), after


def render(animator, portrait, driving: np.ndarray) -> Tuple[List[np.ndarray], list]:
    """Result frames ``[H,W,3] uint8`` and each face's source keypoints."""
    from ppgan_app.apps.expression_transfer.motion import to_chw_float
    from ppgan_app.apps.expression_transfer.portrait import PortraitRenderer

    renderer = PortraitRenderer(portrait, animator, ratio=0.4)
    kp_driving = animator.keypoints(to_chw_float(driving))
    kp_initial = {k: v[:1] for k, v in kp_driving.items()}
    frames = renderer.frames(renderer.crops(kp_driving, kp_initial, True, False))
    return frames, [{k: np.asarray(v) for k, v in kp.items()} for kp in renderer.kp_sources]


def measure(animator, image: np.ndarray, driving: np.ndarray) -> dict:
    from ppgan_app.faces.crop import faces_and_crops
    from ppgan_app.faces.detectors import build_face_detector
    from ppgan_app.faces.regions import face_regions

    found = faces_and_crops(build_face_detector("yunet")(image), image.shape[:2])
    faces, crops = [f for f, _ in found], [c for _, c in found]
    result = {"faces": len(faces)}
    if len(faces) < 2:
        return result
    regions = face_regions(faces, image.shape[:2])
    noisy = image.copy()
    noisy[regions[1]] = np.random.default_rng(1).integers(0, 256, (int(regions[1].sum()), 3))
    for name, portrait in zip(("before", "after"), portraits(image, faces, crops)):
        single = dataclasses.replace(portrait, boxes=crops[:1], keep_out=portrait.keep_out[:1])
        frames, kps = render(animator, single, driving)
        result[f"{name} single"] = max(_max_diff(f, image, regions[1]) for f in frames)
        multi, _ = render(animator, portrait, driving)
        worst = 0
        for k in range(2):
            alone = dataclasses.replace(portrait, boxes=[crops[k]],
                                        keep_out=[portrait.keep_out[k]])
            frames_k, _ = render(animator, alone, driving)
            worst = max(worst, max(_max_diff(a, b, regions[k]) for a, b in zip(multi, frames_k)))
        result[f"{name} multi"] = worst
        moved = dataclasses.replace(single, image=noisy)
        _, kps_noisy = render(animator, moved, driving[:1])
        result[f"{name} kp shift"] = float(np.abs(kps[0]["value"] - kps_noisy[0]["value"]).max())
        result[f"{name} kp on other"] = _on_region(kps[0]["value"][0], crops[0], regions[1])
    return result


def _on_region(values: np.ndarray, box, region: np.ndarray) -> int:
    """How many keypoints ``[K,2]`` in [-1, 1] of the crop ``box`` lie in ``region``."""
    x1, y1, x2, y2 = box
    xs = np.clip(x1 + (values[:, 0] + 1) / 2 * (x2 - x1), 0, region.shape[1] - 1).astype(int)
    ys = np.clip(y1 + (values[:, 1] + 1) / 2 * (y2 - y1), 0, region.shape[0] - 1).astype(int)
    return int(region[ys, xs].sum())


def _max_diff(a: np.ndarray, b: np.ndarray, region: np.ndarray) -> int:
    return int(np.abs(a.astype(int) - b.astype(int))[region].max())


#: Colour each face's "animation" is tinted with in the picture (RGB gains).
TINTS = (np.float32([1.0, 0.3, 0.3]), np.float32([0.3, 0.45, 1.0]))


def tinted_result(animator, portrait) -> Tuple[np.ndarray, np.ndarray]:
    """For the picture: the network input of face 1 (``[h,w,3]``) and the result when every
    face's "animation" is its own input crop tinted (face 1 red, face 2 blue), so the colours
    show which face's paste reached which pixels."""
    from ppgan_app.apps.expression_transfer.portrait import PortraitRenderer, face_crop

    renderer = PortraitRenderer(portrait, animator, ratio=0.4)
    crops = [np.clip(face_crop(portrait, i, 256) * TINTS[i % len(TINTS)], 0, 255)
             .astype(np.uint8)[None] for i in range(len(portrait.boxes))]
    x1, y1, x2, y2 = portrait.boxes[0]
    seen = cv2.resize(face_crop(portrait, 0, 256), (x2 - x1, y2 - y1))
    return seen, renderer.frames(crops)[0]


def picture(animator, rows: List[Tuple[float, np.ndarray]], path: str,
            height: int = 140) -> None:
    """One row per gap: ``group | face 1 as the network sees it, before, after | result
    before, after`` (``--multi_person``, tinted), ``height`` px tall, saved as JPEG."""
    from ppgan_app.faces.crop import faces_and_crops
    from ppgan_app.faces.detectors import build_face_detector

    detect = build_face_detector("yunet")
    tiles = []
    for gap, image in rows:
        found = faces_and_crops(detect(image), image.shape[:2])
        before, after = portraits(image, [f for f, _ in found], [c for _, c in found])
        (seen_b, result_b) = tinted_result(animator, before)
        (seen_a, result_a) = tinted_result(animator, after)
        cells = [image, seen_b, seen_a, result_b, result_a]
        labels = (f"gap {gap:.1f}", "crop before", "crop after", "before", "after")
        scaled = [cv2.resize(c, (int(c.shape[1] * height / c.shape[0]), height),
                             interpolation=cv2.INTER_AREA) for c in cells]
        for cell, label in zip(scaled, labels):
            cv2.putText(cell, label, (3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1,
                        cv2.LINE_AA)
        tiles.append(np.concatenate([np.pad(c, ((0, 0), (0, 2), (0, 0))) for c in scaled],
                                    axis=1))
    width = max(t.shape[1] for t in tiles)
    sheet = np.concatenate([np.pad(t, ((0, 2), (0, width - t.shape[1]), (0, 0)))
                            for t in tiles])
    cv2.imwrite(path, cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 82])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=6, help="driving frames per run")
    parser.add_argument("--picture", default=None, help="write the comparison picture here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        animator = tiny_animator(folder)
        driving = driving_frames(args.frames, animator.image_size)
        rows = []
        print("| gap (face widths) | faces | single max diff before / after | "
              "multi max diff before / after | kp shift before / after | "
              "kp on the other face before / after |")
        print("|---|---|---|---|---|---|")
        for gap in GAPS:
            image = group_picture(gap)
            r = measure(animator, image, driving)
            rows.append((gap, image))
            if r["faces"] < 2:
                print(f"| {gap:.1f} | {r['faces']} | - | - | - | - |")
                continue
            print(f"| {gap:.1f} | {r['faces']} | {r['before single']} / {r['after single']} | "
                  f"{r['before multi']} / {r['after multi']} | "
                  f"{r['before kp shift']:.3f} / {r['after kp shift']:.3f} | "
                  f"{r['before kp on other']} / {r['after kp on other']} |")
        if args.picture:
            picture(animator, rows, args.picture)
            print(f"picture: {args.picture} ({os.path.getsize(args.picture) // 1024} KB)")


if __name__ == "__main__":
    main()
