"""``ppgan-motion-dataset`` / ``tools/make_motion_dataset.py``: synthetic FOMM training clips.

    python tools/make_motion_dataset.py --output data/motion --size 64
    python tools/make_motion_dataset.py --output data/faces --images my_photos/ --seed 1

Each still (photo) is one identity; clips of smooth random head motion and facial expression
are rendered from it into ``FirstOrderDataset``'s layout, with held-out test identities.
Exit codes: 0 done, 1 a write failed, 2 bad input or options.
"""
from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from ppgan_app.cli.common import run_main
from ppgan_app.utils.options import Options, in_range, option

logger = logging.getLogger("ppgan_app.cli.motion_dataset")


@dataclass(frozen=True)
class MotionDatasetOptions(Options):
    """``ppgan-motion-dataset`` options (the library's defaults: ``make_motion_dataset``)."""

    output: Optional[str] = option(None, "output folder (new or empty)", required=True,
                                   metavar="DIR", kind=str)
    images: Optional[str] = option(None, "folder of photos, one identity each (default: "
                                   "bundled portrait, scikit-image samples, LFW faces)",
                                   metavar="DIR", kind=str)
    size: int = option(128, "frame side in pixels", check=in_range(16, 4096), metavar="S")
    frames: int = option(32, "frames per clip", check=in_range(2, 100000), metavar="N")
    train_clips: int = option(4, "clips per train identity", check=in_range(1, 100000),
                              metavar="N")
    test_clips: int = option(2, "clips per test identity", check=in_range(1, 100000),
                             metavar="N")
    test_fraction: float = option(0.2, "share of identities held out for test/, in (0, 1)",
                                  check=lambda v: None if 0 < v < 1 else "must be in (0, 1)",
                                  metavar="F")
    seed: int = option(0, "same seed, same files", check=in_range(0, 2**32 - 1), metavar="N")
    no_landmarks: bool = option(False, "generic local motion only (no dlib facial expression "
                                "motion)")
    overwrite: bool = option(False, "replace a non-empty output folder")


def build_parser():
    """The parser, one flag per :class:`MotionDatasetOptions` field."""
    from ppgan_app.cli.options import build_parser as from_options

    return from_options(MotionDatasetOptions, "ppgan-motion-dataset", __doc__.split("\n\n")[0])


def parse(argv: Sequence[str]) -> MotionDatasetOptions:
    from ppgan_app.cli.options import options_from

    return options_from(MotionDatasetOptions, build_parser().parse_args(argv))


def _main(args: MotionDatasetOptions) -> int:
    from ppgan_app.apps.fomm_training.motion_dataset import folder_stills, make_motion_dataset
    stills = folder_stills(Path(args.images)) if args.images else None
    summary = make_motion_dataset(args.output, stills, size=args.size, frames=args.frames,
                                  train_clips=args.train_clips, test_clips=args.test_clips,
                                  test_fraction=args.test_fraction, seed=args.seed,
                                  landmarks=not args.no_landmarks, overwrite=args.overwrite)
    print(f"wrote {summary.clips['train']} train and {summary.clips['test']} test clips "
          f"({summary.frames} frames each; {summary.with_landmarks} identities with face "
          f"landmarks) to {summary.root}")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Render the data set; returns the exit code."""
    return run_main(parse, _main, argv, logger.name)


if __name__ == "__main__":
    sys.exit(main())
