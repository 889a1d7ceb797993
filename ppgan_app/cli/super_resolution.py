"""``applications/tools/super_resolution.py``: upscale a picture or a video.

    python applications/tools/super_resolution.py --input photo.jpg --output photo_x4.png
    python applications/tools/super_resolution.py --input clip.mp4 --output clip_x4.mp4 \\
        --weight_path RUN/iter_0001000_checkpoint.pdparams

Default network: PaddleGAN's RealSR (RRDBNet x4, ``DF2K_JPEG.pdparams``, downloaded once).
Large frames are upscaled in overlapping tiles (bounded memory, no seams); videos are streamed
frame by frame with their audio kept. Exit codes: 0 done, 1 a write failed, 2 bad input,
options or weights, 130/143 interrupted (partial outputs removed).
"""
from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import Optional, Sequence

from ppgan_app.cli.common import run_main
from ppgan_app.utils.options import Options, in_range, option
from ppgan_app.utils.process import MAX_THREADS

logger = logging.getLogger("ppgan_app.cli.super_resolution")


def sr_presets() -> Sequence[str]:
    """The SR network presets (owned by the SR app)."""
    from ppgan_app.apps.super_resolution.networks import PRESETS

    return tuple(PRESETS)


def _tile(value: int) -> Optional[str]:
    return None if value == 0 or value >= 16 else "must be 0 (no tiling) or at least 16 pixels"


@dataclass(frozen=True)
class SuperResolutionOptions(Options):
    """``ppgan-super-resolution`` options (the predictor's defaults:
    :class:`~ppgan_app.apps.super_resolution.SuperResolutionPredictor`)."""

    input: Optional[str] = option(None, "picture (.png, .jpg, ...) or video file", required=True,
                                  metavar="FILE", kind=str)
    output: Optional[str] = option(None, "result file: a picture name for a picture, .mp4 for a "
                                   "video (default: output/<input name>_sr.png or .mp4)",
                                   metavar="FILE", kind=str)
    model: str = option("realsr", "network preset; says which network a bare --weight_path "
                        "state dict fits", choices=sr_presets)
    weight_path: Optional[str] = option(None, "weights: a kit training checkpoint, a PaddleGAN "
                                        "model file or a state dict (default: the preset's "
                                        "published weights)", metavar="FILE", kind=str)
    tile: int = option(256, "tile side in input pixels for large frames, 0 for none",
                       check=_tile, metavar="PX")
    tile_overlap: int = option(32, "context pixels around each tile", check=in_range(0),
                               metavar="PX")
    threads: Optional[int] = option(None, "CPU threads (default: the cores this process may "
                                    "use)", check=in_range(1, MAX_THREADS), metavar="N", kind=int)


def build_parser():
    """The parser, one flag per :class:`SuperResolutionOptions` field."""
    from ppgan_app.cli.options import build_parser as from_options

    return from_options(SuperResolutionOptions, "super_resolution", __doc__.split("\n\n")[0])


def parse(argv: Sequence[str]) -> SuperResolutionOptions:
    from ppgan_app.cli.options import options_from

    return options_from(SuperResolutionOptions, build_parser().parse_args(argv))


def _check_paths(args: SuperResolutionOptions) -> None:
    from pathlib import Path

    from ppgan_app.apps.super_resolution.predictor import check_output_kind
    from ppgan_app.errors import InputError

    if not Path(args.input).is_file():
        raise InputError(f"--input not found: {args.input}")
    if args.output:
        check_output_kind(Path(args.input), Path(args.output))
    if args.weight_path and not Path(args.weight_path).is_file():
        raise InputError(f"--weight_path not found: {args.weight_path}")


def _main(args: SuperResolutionOptions) -> int:
    from ppgan_app.apps.super_resolution import SuperResolutionPredictor

    _check_paths(args)
    predictor = SuperResolutionPredictor(weight_path=args.weight_path, model=args.model,
                                         tile=args.tile, tile_overlap=args.tile_overlap)
    print(predictor.run(args.input, args.output))
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Parse ``argv`` and upscale; returns the exit code."""
    return run_main(parse, _main, argv, logger.name)


if __name__ == "__main__":
    sys.exit(main())
