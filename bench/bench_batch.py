"""Many portraits, one driving video: ``run_batch`` against one ``run`` per portrait.

Both share one predictor (the networks are built once either way), so the difference is what a
batch saves per extra portrait: decoding the driving video, planning its crop and computing its
keypoints. Prints wall and CPU seconds, driving decodes and keypoint-detector calls for each.
The default model is a tiny random-weight FOMM (quick; its keypoints cost little, so the saving
is mostly decoding); pass ``--config/--weight_path/--image_size`` for a real one. Decodes and
keypoint calls are exact; the times vary with the machine's load (rounds alternate the order).

Measured 2026-12-02 on the shared 2-core machine (load about 9), 3 portraits x 100 frames, tiny
model, dygraph: run_batch 2 decodes (crop plan + keypoints) and 103 keypoint calls against 6 and
303; wall 33.6-33.9 s against 30.3-33.8 s, CPU 16.5-17.7 s against 13.5-13.6 s: with this
model the saving is below the noise. With the vox-256 model the keypoint pass is about 5% of a
portrait's time (22 of about 430 ms per frame, see REFERENCE.md), so a batch saves about that per
extra portrait; its main gains are one command, one decode, and failures that do not stop it.

Usage: python bench/bench_batch.py [--portraits 3] [--engine dygraph] [--frames 100]
"""
from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time

from bench_demo import IMAGE_SIZE, make_driving, make_model


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def make_portraits(folder: str, count: int) -> list:
    """``count`` portraits: the bundled one, mirrored and shifted so that each differs."""
    from PIL import Image, ImageChops, ImageOps

    from ppgan_app.apps.expression_transfer.predictor import sample_paths

    base = Image.open(sample_paths()[0]).convert("RGB")
    paths = []
    for i in range(count):
        image = ImageOps.mirror(base) if i % 2 else base
        image = ImageChops.offset(image, 4 * i, 0)
        paths.append(os.path.join(folder, f"portrait_{i}.png"))
        image.save(paths[-1])
    return paths


def counted(predictor) -> dict:
    """Count driving decodes (VideoReader passes) and keypoint calls of ``predictor``."""
    from ppgan_app.media.video import VideoReader

    counts = {"decodes": 0, "keypoints": 0}
    iterate = VideoReader.__iter__

    def counting_iter(self):
        counts["decodes"] += 1
        return iterate(self)

    VideoReader.__iter__ = counting_iter
    animator = predictor.animator
    keypoints = animator.keypoints

    def counting_keypoints(frames):
        counts["keypoints"] += 1
        return keypoints(frames)

    animator.keypoints = counting_keypoints
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--portraits", type=int, default=3)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--engine", default="dygraph")
    parser.add_argument("--config")
    parser.add_argument("--weight_path")
    parser.add_argument("--image_size", type=int, default=IMAGE_SIZE)
    parser.add_argument("--rounds", type=int, default=2,
                        help="alternating rounds of both (the machine's load varies)")
    args = parser.parse_args()

    from ppgan_app.utils.cpu_env import apply_cpu_env

    apply_cpu_env()
    import paddle

    from ppgan_app.apps import FirstOrderPredictor

    paddle.base.core.set_num_threads(os.cpu_count() or 1)
    with tempfile.TemporaryDirectory() as folder:
        config, weights = (args.config, args.weight_path) if args.weight_path \
            else make_model(folder)
        driving = os.path.join(folder, "driving.mp4")
        make_driving(driving, args.frames)
        portraits = make_portraits(folder, args.portraits)
        predictor = FirstOrderPredictor(config=config, weight_path=weights, relative=True,
                                        image_size=args.image_size, engine=args.engine,
                                        progress=False, output=os.path.join(folder, "out"))
        counts = counted(predictor)
        predictor.run(portraits[0], driving, filename="warm_up.mp4")  # builds, warms caches
        work = {"run_batch": lambda: predictor.run_batch(portraits, driving),
                "run per portrait": lambda: [predictor.run(p, driving, filename=f"{i}.mp4")
                                             for i, p in enumerate(portraits)]}
        rows = []
        for round_ in range(args.rounds):
            names = list(work) if round_ % 2 == 0 else list(reversed(work))
            for name in names:
                counts.update(decodes=0, keypoints=0)
                wall, cpu = time.perf_counter(), cpu_seconds()
                work[name]()
                rows.append((name, time.perf_counter() - wall, cpu_seconds() - cpu,
                             counts["decodes"], counts["keypoints"]))
    print(f"{args.portraits} portraits x {args.frames} driving frames, engine {args.engine}, "
          f"image size {args.image_size}")
    print(f"{'':18} {'wall s':>8} {'CPU s':>8} {'decodes':>8} {'kp calls':>9}")
    for name, wall, cpu, decodes, kp in rows:
        print(f"{name:18} {wall:8.1f} {cpu:8.1f} {decodes:8d} {kp:9d}")


if __name__ == "__main__":
    main()
