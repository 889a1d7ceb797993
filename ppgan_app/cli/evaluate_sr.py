"""``tools/evaluate_sr.py``: an SR network against bicubic and nearest on held-out pictures.

    python tools/evaluate_sr.py --pictures HELD_OUT --weight_path RUN/iter_0001000_checkpoint.pdparams

Each picture is cropped to a multiple of the scale, bicubic-downscaled and upscaled back by each
method; prints PSNR and SSIM on Y (``scale`` border pixels dropped), a sharpness ratio (variance
of the Laplacian of Y relative to the original's) and seconds per picture, and with
``--speed_side`` the seconds per frame of that side (e.g. 256 -> 1024). Exit codes: 0 done, 2 bad
input, options or weights.
"""
from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from ppgan_app.cli.common import run_main
from ppgan_app.cli.super_resolution import sr_presets
from ppgan_app.utils.options import Options, in_range, option
from ppgan_app.utils.process import MAX_THREADS

logger = logging.getLogger("ppgan_app.cli.evaluate_sr")


@dataclass(frozen=True)
class EvaluateSROptions(Options):
    """``ppgan-evaluate-sr`` options."""

    pictures: Optional[str] = option(None, "folder of held-out high-resolution pictures",
                                     required=True, metavar="DIR", kind=str)
    weight_path: Optional[str] = option(None, "weights of the network to score (kit checkpoint, "
                                        "PaddleGAN file or state dict); none: baselines only",
                                        metavar="FILE", kind=str)
    model: str = option("pan-x4", "network a bare --weight_path state dict fits",
                        choices=sr_presets)
    scale: int = option(4, "scale of the baselines when no network is given",
                        check=in_range(2, 16), metavar="S")
    tile: int = option(0, "tile side for the network, 0: whole pictures", check=in_range(0),
                       metavar="PX")
    speed_side: int = option(0, "also time one frame of this side (centre crop of the first "
                             "picture), e.g. 256", check=in_range(0), metavar="PX")
    max_pictures: Optional[int] = option(None, "first N pictures only", check=in_range(1),
                                         metavar="N", kind=int)
    crop: Optional[int] = option(None, "score the centre CROP x CROP pixels of each picture only "
                                 "(the training validation's pairs; default: whole pictures)",
                                 check=in_range(16), metavar="CROP", kind=int)
    comparison: Optional[str] = option(None, "also write crops of every method and the original "
                                       "side by side (.png/.jpg)", metavar="IMAGE", kind=str)
    comparison_picture: Optional[str] = option(None, "picture file name for --comparison "
                                               "(default: the first)", metavar="NAME", kind=str)
    json: Optional[str] = option(None, "also write the figures as JSON here", metavar="FILE",
                                 kind=str)
    threads: Optional[int] = option(None, "CPU threads (default: the cores this process may "
                                    "use)", check=in_range(1, MAX_THREADS), metavar="N", kind=int)


def build_parser():
    """The parser, one flag per :class:`EvaluateSROptions` field."""
    from ppgan_app.cli.options import build_parser as from_options

    return from_options(EvaluateSROptions, "evaluate_sr", __doc__.split("\n\n")[0])


def parse(argv: Sequence[str]) -> EvaluateSROptions:
    from ppgan_app.cli.options import options_from

    return options_from(EvaluateSROptions, build_parser().parse_args(argv))


def _main(args: EvaluateSROptions) -> int:
    from ppgan_app.apps.super_resolution import evaluation as ev
    from ppgan_app.apps.super_resolution.networks import load_sr_network
    from ppgan_app.apps.super_resolution.upscaler import Upscaler
    from ppgan_app.datasets.image_folder import read_image
    from ppgan_app.datasets.sr_pairs import find_pictures
    from ppgan_app.utils.safe_files import atomic_output, check_destination

    for destination in (args.json, args.comparison):
        if destination:
            check_destination(destination)
    scale, methods = args.scale, {}
    if args.weight_path:
        network = load_sr_network(args.weight_path, arch=args.model)
        scale = network.scale
        methods = {"model": Upscaler(network.net, scale, args.tile).upscale}
    methods = {**ev.baselines(scale), **methods}
    scores = ev.evaluate_folder(args.pictures, scale, methods, args.max_pictures, args.crop)
    timings = None
    if args.speed_side:
        first = read_image(find_pictures(Path(args.pictures))[0])
        frame = _centre(first, args.speed_side)
        timings = ev.time_frame(methods, frame)
    print(ev.format_table(scores, timings, args.speed_side, scale))
    if args.comparison:
        _write_comparison(args, scale, methods)
    if args.json:
        report = {"scale": scale, "pictures": args.pictures, "weights": args.weight_path,
                  "means": {k: v.means() for k, v in scores.items()},
                  "per_picture": {k: vars(v) for k, v in scores.items()}, "frame_seconds": timings}
        with atomic_output(args.json) as tmp:
            tmp.write_text(json.dumps(report, indent=1))
    return 0


def _write_comparison(args: EvaluateSROptions, scale: int, methods: dict) -> None:
    import cv2

    from ppgan_app.apps.super_resolution.evaluation import comparison_picture
    from ppgan_app.datasets.image_folder import read_image
    from ppgan_app.datasets.sr_pairs import find_pictures
    from ppgan_app.errors import InputError, OutputError
    from ppgan_app.utils.safe_files import atomic_output

    pictures = find_pictures(Path(args.pictures))
    if args.comparison_picture:
        pictures = [p for p in pictures if p.name == args.comparison_picture]
        if not pictures:
            raise InputError(f"--comparison_picture {args.comparison_picture} is not in {args.pictures}")
    strip = comparison_picture(read_image(pictures[0]), scale, methods)
    with atomic_output(args.comparison) as tmp:
        if not cv2.imwrite(str(tmp), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90]):
            raise OutputError(f"could not write {args.comparison} (unsupported extension?)")
    print(f"comparison written to {args.comparison}")


def _centre(img, side: int):
    from ppgan_app.errors import InputError

    h, w = img.shape[:2]
    if min(h, w) < side:
        raise InputError(f"--speed_side {side} is larger than the first picture ({w}x{h})")
    top, left = (h - side) // 2, (w - side) // 2
    return img[top:top + side, left:left + side]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Parse ``argv``, evaluate, print the table; returns the exit code."""
    return run_main(parse, _main, argv, logger.name)


if __name__ == "__main__":
    sys.exit(main())
