"""``ppgan-motion-dataset`` / ``tools/make_motion_dataset.py``: synthetic FOMM training clips.

    python tools/make_motion_dataset.py --output data/motion --size 64
    python tools/make_motion_dataset.py --output data/faces --images my_photos/ --seed 1

Each still (photo) is one identity; clips of smooth random head motion and facial expression
are rendered from it into ``FirstOrderDataset``'s layout, with held-out test identities.
Exit codes: 0 done, 1 a write failed, 2 bad input or options.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Optional, Sequence

from ppgan_app.cli.common import parse_and_run

logger = logging.getLogger("ppgan_app.cli.motion_dataset")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ppgan-motion-dataset",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", required=True, help="output folder (new or empty)")
    parser.add_argument("--images", help="folder of photos, one identity each "
                                         "(default: bundled portrait, scikit-image samples, LFW faces)")
    parser.add_argument("--size", type=int, default=128, help="frame side in pixels (default: 128)")
    parser.add_argument("--frames", type=int, default=32, help="frames per clip (default: 32)")
    parser.add_argument("--train-clips", type=int, default=4, help="clips per train identity (default: 4)")
    parser.add_argument("--test-clips", type=int, default=2, help="clips per test identity (default: 2)")
    parser.add_argument("--test-fraction", type=float, default=0.2,
                        help="share of identities held out for test/ (default: 0.2)")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same files (default: 0)")
    parser.add_argument("--no-landmarks", action="store_true",
                        help="generic local motion only (no dlib facial expression motion)")
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty output folder")
    return parser


def _main(args: argparse.Namespace) -> int:
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
    return parse_and_run(build_parser(), _main, argv, logger.name)


if __name__ == "__main__":
    sys.exit(main())
