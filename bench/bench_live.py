"""Live mode on a recorded clip played as a camera: sustained fps and capture-to-output latency.

The clip (default: the bundled driving video, 256x256 at 25 fps, looped ``--repeat`` times) is
played at its own frame rate by :class:`ppgan_app.apps.live.camera.Camera`, exactly as
``ppgan-live --camera clip.mp4`` plays it: frames the pipeline cannot take in time are dropped.
The model has random weights (the speed does not depend on them) unless ``--weights`` is given.
Prints frames captured and out, fps out, latency p50/p90 (ms), the drops of each stage and the
load average (the machine may be shared). Example::

    python bench/bench_live.py --engine openvino                # mobile
    python bench/bench_live.py --precision bf16
    python bench/bench_live.py --config firstorder_vox_256 --engine openvino --precision bf16
"""
from __future__ import annotations

import argparse
import logging
import os
import tempfile
from pathlib import Path

import numpy as np


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="firstorder_vox_mobile_256")
    parser.add_argument("--weights", default=None, help="checkpoint (default: random weights)")
    parser.add_argument("--engine", default="auto")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads of each network (live mode's default: 1)")
    parser.add_argument("--generator_threads", type=int, default=0,
                        help="generator stages (0: live mode's default, two where possible)")
    parser.add_argument("--clip", default=None, help="video played as the camera "
                        "(default: the bundled driving video)")
    parser.add_argument("--repeat", type=int, default=3, help="times the clip is looped")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def random_checkpoint(config: str, folder: Path, seed: int) -> str:
    """A checkpoint of ``config``'s networks with random weights."""
    import paddle

    from ppgan_app.models.firstorder import build_fomm_networks, randomize_fomm_weights

    kp_detector, generator = build_fomm_networks(config)
    rng = np.random.default_rng(seed)
    randomize_fomm_weights(kp_detector, rng, bias_std=0.05)
    randomize_fomm_weights(generator, rng, bias_std=0.05)
    path = folder / "random.pdparams"
    paddle.save({"kp_detector": kp_detector.state_dict(),
                 "generator": generator.state_dict()}, str(path))
    return str(path)


def looped_clip(clip: str, repeat: int, folder: Path) -> tuple[str, float]:
    """``clip`` played ``repeat`` times in a row, as one mp4; returns ``(path, fps)``."""
    import cv2

    from ppgan_app.media.video import Mp4Writer, VideoReader

    fps = cv2.VideoCapture(clip).get(cv2.CAP_PROP_FPS) or 25.0
    frames = list(VideoReader(clip))
    path = folder / "camera.mp4"
    with Mp4Writer(str(path), fps) as writer:
        for _ in range(repeat):
            for frame in frames:
                writer.write(frame)
        writer.finish()
    return str(path), fps


def main(argv=None) -> None:
    args = parse_args(argv)
    from ppgan_app.utils.cpu_env import apply_cpu_env

    apply_cpu_env()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    from ppgan_app.apps.expression_transfer.predictor import sample_paths
    from ppgan_app.apps.live.options import LiveOptions
    from ppgan_app.apps.live.session import run_live

    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        weights = args.weights or random_checkpoint(args.config, folder, args.seed)
        clip, fps = looped_clip(args.clip or sample_paths()[1], args.repeat, folder)
        options = LiveOptions(camera=clip, config=args.config, weight_path=weights,
                              engine=args.engine, precision=args.precision, report_every=1e9,
                              threads=args.threads,
                              generator_threads=args.generator_threads)
        report = run_live(options)
    print(f"\nlive: {args.config}, engine {args.engine}, {args.precision}, "
          f"{args.threads} thread(s) per network, {report.generator_workers} generator "
          f"stage(s), "
          f"{'weights ' + args.weights if args.weights else 'random weights'}; camera: "
          f"{Path(args.clip or sample_paths()[1]).name} x{args.repeat} at {fps:g} fps; load "
          f"average {load_start[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    print(f"frames captured {report.frames_captured}, out {report.frames_out}; "
          f"{report.fps:.1f} fps; latency p50 {report.latency_p50_ms:.0f} ms, "
          f"p90 {report.latency_p90_ms:.0f} ms; dropped {report.dropped}; "
          f"{report.cpu_ms_per_frame:.0f} CPU ms per frame out (all threads; 2 cores give at "
          f"most {2000 / report.cpu_ms_per_frame:.1f} fps at this cost)")


if __name__ == "__main__":
    main()
