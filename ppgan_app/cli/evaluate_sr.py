"""``tools/evaluate_sr.py``: an SR network against bicubic and nearest on held-out pictures.

    python tools/evaluate_sr.py --pictures HELD_OUT --weight_path RUN/iter_0001000_checkpoint.pdparams

Each picture is cropped to a multiple of the scale, bicubic-downscaled and upscaled back by each
method; prints PSNR and SSIM on Y (``scale`` border pixels dropped), a sharpness ratio (variance
of the Laplacian of Y relative to the original's) and seconds per picture, and with
``--speed_side`` the seconds per frame of that side (e.g. 256 -> 1024). Exit codes: 0 done, 2 bad
input, options or weights.
"""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Optional, Sequence

from ppgan_app.cli.common import parse_and_run

logger = logging.getLogger("ppgan_app.cli.evaluate_sr")


def build_parser() -> argparse.ArgumentParser:
    from ppgan_app.apps.super_resolution.networks import PRESETS

    parser = argparse.ArgumentParser(prog="evaluate_sr", description=__doc__.split("\n\n")[0])
    parser.add_argument("--pictures", required=True, help="folder of held-out high-resolution pictures")
    parser.add_argument("--weight_path", help="weights of the network to score (kit checkpoint, PaddleGAN "
                                              "file or state dict); none: baselines only")
    parser.add_argument("--model", choices=list(PRESETS), default="pan-x4",
                        help="network a bare --weight_path state dict fits (default pan-x4)")
    parser.add_argument("--scale", type=int, default=4, help="scale of the baselines when no network is given")
    parser.add_argument("--tile", type=int, default=0, help="tile side for the network, 0: whole pictures")
    parser.add_argument("--speed_side", type=int, default=0,
                        help="also time one frame of this side (centre crop of the first picture), e.g. 256")
    parser.add_argument("--max_pictures", type=int, help="first N pictures only")
    parser.add_argument("--crop", type=int, help="score the centre CROP x CROP pixels of each picture only "
                                                 "(the training validation's pairs; default: whole pictures)")
    parser.add_argument("--comparison", metavar="IMAGE",
                        help="also write crops of every method and the original side by side (.png/.jpg)")
    parser.add_argument("--comparison_picture", help="picture file name for --comparison (default: the first)")
    parser.add_argument("--json", help="also write the figures as JSON here")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    return parser


def _main(args: argparse.Namespace) -> int:
    import paddle

    from ppgan_app.apps.super_resolution import evaluation as ev
    from ppgan_app.apps.super_resolution.networks import load_sr_network
    from ppgan_app.apps.super_resolution.upscaler import Upscaler
    from ppgan_app.datasets.image_folder import read_image
    from ppgan_app.datasets.sr_pairs import find_pictures
    from ppgan_app.errors import InputError
    from ppgan_app.utils.safe_files import atomic_output, check_destination

    if args.threads < 1 or args.tile < 0 or args.speed_side < 0 or args.scale < 2 or (args.crop or 16) < 16:
        raise InputError("--threads >= 1, --scale >= 2, --tile >= 0, --speed_side >= 0 and --crop >= 16 needed")
    for destination in (args.json, args.comparison):
        if destination:
            check_destination(destination)
    paddle.set_device("cpu")
    paddle.base.core.set_num_threads(args.threads)
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


def _write_comparison(args: argparse.Namespace, scale: int, methods: dict) -> None:
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
    return parse_and_run(build_parser(), _main, argv, logger.name)
