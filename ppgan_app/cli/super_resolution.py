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

import argparse
import logging
from typing import Optional, Sequence

from ppgan_app.cli.common import parse_and_run

logger = logging.getLogger("ppgan_app.cli.super_resolution")


def build_parser() -> argparse.ArgumentParser:
    from ppgan_app.apps.super_resolution.networks import PRESETS
    from ppgan_app.apps.super_resolution.predictor import DEFAULT_MODEL
    from ppgan_app.apps.super_resolution.upscaler import DEFAULT_TILE, DEFAULT_TILE_OVERLAP

    parser = argparse.ArgumentParser(prog="super_resolution", description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", required=True, help="picture (.png, .jpg, ...) or video file")
    parser.add_argument("--output", help="result file: a picture name for a picture, .mp4 for a video "
                                         "(default: output/<input name>_sr.png or .mp4)")
    parser.add_argument("--model", choices=list(PRESETS), default=DEFAULT_MODEL,
                        help=f"network preset (default {DEFAULT_MODEL}); says which network a bare "
                             f"--weight_path state dict fits")
    parser.add_argument("--weight_path", help="weights: a kit training checkpoint, a PaddleGAN model "
                                              "file or a state dict (default: the preset's published weights)")
    parser.add_argument("--tile", type=int, default=DEFAULT_TILE,
                        help=f"tile side in input pixels for large frames, 0 for none (default {DEFAULT_TILE})")
    parser.add_argument("--tile_overlap", type=int, default=DEFAULT_TILE_OVERLAP,
                        help=f"context pixels around each tile (default {DEFAULT_TILE_OVERLAP})")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    return parser


def _validate(args: argparse.Namespace) -> None:
    from pathlib import Path

    from ppgan_app.apps.super_resolution.predictor import check_output_kind
    from ppgan_app.errors import InputError

    if args.tile < 0 or args.tile_overlap < 0:
        raise InputError(f"--tile and --tile_overlap must be >= 0, got {args.tile}, {args.tile_overlap}")
    if args.tile and args.tile < 16:
        raise InputError(f"--tile must be 0 (no tiling) or at least 16 pixels, got {args.tile}")
    if args.threads < 1:
        raise InputError(f"--threads must be at least 1, got {args.threads}")
    if not Path(args.input).is_file():
        raise InputError(f"--input not found: {args.input}")
    if args.output:
        check_output_kind(Path(args.input), Path(args.output))
    if args.weight_path and not Path(args.weight_path).is_file():
        raise InputError(f"--weight_path not found: {args.weight_path}")


def _main(args: argparse.Namespace) -> int:
    import paddle

    from ppgan_app.apps.super_resolution import SuperResolutionPredictor

    _validate(args)
    paddle.set_device("cpu")
    paddle.base.core.set_num_threads(args.threads)
    predictor = SuperResolutionPredictor(weight_path=args.weight_path, model=args.model, tile=args.tile,
                                         tile_overlap=args.tile_overlap)
    path = predictor.run(args.input, args.output)
    print(path)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Parse ``argv`` and upscale; returns the exit code."""
    return parse_and_run(build_parser(), _main, argv, logger.name)
