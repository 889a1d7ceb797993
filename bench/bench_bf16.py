"""The bfloat16 quality gate and speed of the fast engine, on the bundled sample.

Animates the bundled portrait with the first driving frames of the bundled video (both
resized to the network's square, no face crop) with the fast engine in fp32 and in bf16
(the engine's bf16: the generator's decoder in oneDNN bfloat16, keypoints, source encoder and
motion in fp32; ``--whole_generator`` adds the whole generator in bf16), and prints,
per precision: ms/frame (wall, median of interleaved steps), CPU ms/frame (user+system of the
process), and against the fp32 frames the PSNR (dB on [0,1], the worst frame and the mean) and
the max abs difference. The gate is PSNR >= 40 dB on the worst frame.

Weights: random (``--seed``) unless ``--weights`` gives a checkpoint (``kp_detector`` and
``generator`` state dicts, at the top level or under ``nets`` as the training engine saves
them; e.g. a trained tiny FOMM). Example::

    python bench/bench_bf16.py                                   # vox-256, random weights
    python bench/bench_bf16.py --config configs/firstorder_vox_mobile_256.yaml
    python bench/bench_bf16.py --config tiny.yaml --weights tiny.pdparams --image_size 64
"""
from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from harness import random_fomm

LOG = logging.getLogger("bench_bf16")
GATE_DB = 40.0


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=None, help="FOMM config (default: packaged vox-256)")
    parser.add_argument("--weights", default=None, help="checkpoint (default: random weights)")
    parser.add_argument("--image_size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--frames", type=int, default=8, help="driving frames animated")
    parser.add_argument("--rounds", type=int, default=2, help="timed passes over the frames")
    parser.add_argument("--whole_generator", action="store_true",
                        help="add a row with the whole generator in bf16 (no decoder split)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def sample_inputs(size: int, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """The bundled portrait ``[1,3,S,S]`` and first driving frames ``[F,3,S,S]`` in [0,1]."""
    import cv2

    from ppgan_app.apps.expression_transfer.predictor import read_source_image, sample_paths
    from ppgan_app.media.video import VideoReader

    source_path, driving_path = sample_paths()

    def square(image: np.ndarray) -> np.ndarray:
        resized = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
        return resized.astype(np.float32).transpose(2, 0, 1) / 255.0

    source = square(read_source_image(source_path))[None]
    driving = []
    for frame in VideoReader(driving_path):
        driving.append(square(frame))
        if len(driving) == frames:
            break
    return source, np.stack(driving)


def psnr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-frame PSNR (dB) of ``[N,3,H,W]`` images in [0,1]."""
    mse = ((a.astype(np.float64) - b) ** 2).reshape(len(a), -1).mean(axis=1)
    return 10.0 * np.log10(1.0 / np.maximum(mse, 1e-20))


def build_networks(args):
    from ppgan_app.models.firstorder import fomm_model_config
    from ppgan_app.weights.fomm import load_fomm

    config = fomm_model_config(args.config)
    if args.weights:
        kp_detector, generator, *_ = load_fomm(args.weights, {"model": config}, args.image_size)
        return config, kp_detector, generator
    kp_detector, generator = random_fomm(config, seed=args.seed, inference=True)
    return config, kp_detector, generator


def animate(engine, source, driving, kp_source) -> np.ndarray:
    kp_driving = engine.kp_detector(driving)
    return engine.generator(source, kp_source, kp_driving).numpy()


def main(argv=None) -> None:
    args = parse_args(argv)
    from ppgan_app.utils.cpu_env import apply_cpu_env

    apply_cpu_env(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    import paddle

    from ppgan_app.inference.paddle_inference import FastEngine

    paddle.set_device("cpu")
    config, kp_detector, generator = build_networks(args)
    source, driving = sample_inputs(args.image_size, args.frames)
    with tempfile.TemporaryDirectory() as tmp:
        engines = {"fp32": FastEngine(kp_detector, generator, Path(tmp), args.threads, config),
                   "bf16": FastEngine(kp_detector, generator, Path(tmp), args.threads, config,
                                      precision="bf16")}
        if args.whole_generator:
            engines["bf16-whole"] = FastEngine(kp_detector, generator, Path(tmp), args.threads,
                                               config, precision="bf16", split_source=False)
        kp_source = engines["fp32"].kp_detector(source)
        frames = {name: np.concatenate([animate(e, source, driving[i:i + 1], kp_source)
                                        for i in range(len(driving))])
                  for name, e in engines.items()}
        wall = {name: [] for name in engines}
        cpu = {name: [] for name in engines}
        for r in range(args.rounds):
            for i in range(len(driving)):
                order = list(engines) if (r + i) % 2 == 0 else list(engines)[::-1]
                for name in order:
                    start, start_cpu = time.perf_counter(), time.process_time()
                    animate(engines[name], source, driving[i:i + 1], kp_source)
                    wall[name].append(time.perf_counter() - start)
                    cpu[name].append(time.process_time() - start_cpu)
    print(f"\nFOMM {args.image_size}x{args.image_size} ({args.config or 'vox-256'}, "
          f"{'weights ' + args.weights if args.weights else 'random weights'}), bundled sample, "
          f"{len(driving)} frames, {args.threads} threads")
    reference = frames["fp32"]
    note = "" if args.weights else " (random weights give flat frames: a weak test)"
    print(f"fp32 frames: mean {reference.mean():.3f}, std {reference.std():.3f}, "
          f"frame-to-frame max|diff| {np.abs(np.diff(reference, axis=0)).max():.2e}{note}")
    print(f"{'precision':<10}{'ms/frame':>10}{'CPU ms':>9}{'PSNR min':>10}{'PSNR mean':>11}"
          f"{'max|diff|':>11}{'gate':>6}")
    for name in engines:
        db = psnr(frames[name], frames["fp32"])
        diff = float(np.abs(frames[name] - frames["fp32"]).max())
        gate = "-" if name == "fp32" else ("pass" if db.min() >= GATE_DB else "FAIL")
        shown = ("inf", "inf") if name == "fp32" else (f"{db.min():.1f}", f"{db.mean():.1f}")
        print(f"{name:<10}{statistics.median(wall[name]) * 1000:>10.1f}"
              f"{statistics.median(cpu[name]) * 1000:>9.1f}{shown[0]:>10}{shown[1]:>11}"
              f"{diff:>11.2e}{gate:>6}")


if __name__ == "__main__":
    main()
