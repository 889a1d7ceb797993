"""Peak memory of the expression-transfer pipeline versus driving-video length.

Runs ``FirstOrderPredictor`` end to end (bundled portrait, default face detector, feathered
composite, H.264 + AAC output) on driving videos of 100 and 1,000 frames, each in a fresh
process, and prints each run's peak RSS. The pipeline streams the video in chunks, so the two
peaks should agree within 10%. A tiny random-weight FOMM keeps it quick: the networks' own
memory does not depend on the video's length either.

Usage: python bench/bench_demo.py [--frames 100 1000] [--engine dygraph]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import wave

import numpy as np

from harness import save_random_fomm

TINY_CONFIG = "firstorder_tiny_64"
IMAGE_SIZE = 64  # network side; the portrait (512x512) and the video keep their sizes


def make_model(folder: str) -> tuple:
    """Write a random-weight checkpoint of the packaged tiny FOMM; return (config, weights) paths."""
    from ppgan_app.utils.resources import packaged_config

    config = str(packaged_config(TINY_CONFIG))
    return config, save_random_fomm(config, os.path.join(folder, "tiny.pdparams"))


def make_driving(path: str, n_frames: int) -> None:
    """Loop the bundled driving clip to ``n_frames`` frames, with a tone of the same length."""
    from ppgan_app.apps.expression_transfer.predictor import sample_paths
    from ppgan_app.media.video import Mp4Writer, VideoReader

    reader = VideoReader(sample_paths()[1])
    clip = list(reader)
    fps = reader.meta.fps
    rate = 16000
    t = np.arange(int(rate * n_frames / fps)) / rate
    wav = path + ".wav"
    with wave.open(wav, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes((0.2 * np.sin(2 * np.pi * 220 * t) * 32767).astype(np.int16).tobytes())
    with Mp4Writer(path, fps) as writer:
        for i in range(n_frames):
            period = 2 * len(clip) - 2  # ping-pong, so the motion stays smooth
            k = i % period
            writer.write(clip[k if k < len(clip) else period - k])
        writer.finish(audio_source=wav)
    os.remove(wav)


def child(args: argparse.Namespace) -> None:
    """One measured run in this process; prints a JSON line."""
    from ppgan_app.utils.cpu_env import apply_cpu_env

    apply_cpu_env(os.cpu_count() or 1)
    from ppgan_app.apps import FirstOrderPredictor

    start = time.perf_counter()
    summary = FirstOrderPredictor(output=args.out, config=args.config, weight_path=args.weights,
                                  image_size=IMAGE_SIZE, relative=True, adapt_scale=True,
                                  engine=args.engine, progress=False).run_with_summary(
        None, args.driving)
    seconds = time.perf_counter() - start
    print(json.dumps({"frames": summary.frames, "seconds": seconds, "audio": summary.audio,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--engine", default="dygraph", choices=["dygraph", "fast"])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--driving", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--weights", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return 0
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        config, weights = make_model(tmp)
        for n in args.frames:
            driving = os.path.join(tmp, f"driving_{n}.mp4")
            make_driving(driving, n)
            proc = subprocess.run(
                [sys.executable, __file__, "--child", "--driving", driving, "--config", config,
                 "--weights", weights, "--out", os.path.join(tmp, f"out_{n}"),
                 "--engine", args.engine], capture_output=True, text=True)
            if proc.returncode != 0:
                sys.stderr.write(proc.stderr)
                return 1
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            results.append(result)
            print(f"{n:5d} driving frames: peak RSS {result['peak_rss_mb']:7.1f} MB, "
                  f"{result['frames']} frames "
                  f"written in {result['seconds']:.1f} s "
                  f"({result['frames'] / result['seconds']:.1f} frames/s), audio "
                  f"{'yes' if result['audio'] else 'no'}", flush=True)
    peaks = [r["peak_rss_mb"] for r in results]
    spread = max(peaks) / min(peaks) - 1
    print(f"peak RSS spread: {100 * spread:.1f}% ({'within' if spread <= 0.10 else 'OVER'} 10%)")
    return 0 if spread <= 0.10 else 1


if __name__ == "__main__":
    sys.exit(main())
