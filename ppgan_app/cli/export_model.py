"""``tools/export_model.py``: a FOMM checkpoint -> static graphs (Paddle Inference or ONNX).

    python tools/export_model.py --checkpoint RUN/iter_0003000_checkpoint.pdparams --output exported/tiny
    python tools/export_model.py --checkpoint vox-mobile --config firstorder_vox_mobile_256 --format onnx --output exported/mobile_onnx
    python tools/export_model.py -c configs/firstorder_vox_256.yaml --load vox-cpk.pdparams --inputs_size "1,3,256,256;1,3,256,256;1,10,2;1,10,2,2"
    python applications/tools/first-order-demo.py --weight_path exported/tiny --relative

A kit training checkpoint carries its architecture and frame size; other weight files need
``--config``. PaddleGAN's flags are accepted (``-c/--config-file``, ``--load``,
``-s/--inputs_size``, ``--output_dir``, default folder ``inference_model``).
Exit codes: 0 done, 1 a write failed, 2 bad input or options.
"""
from __future__ import annotations

import argparse
import importlib.util
import logging
import sys
from typing import Optional, Sequence

from ppgan_app.apps.fomm_export import EXPORT_FORMATS
from ppgan_app.cli.common import parse_and_run

PADDLEGAN_OUTPUT = "inference_model"    # PaddleGAN's default output folder

logger = logging.getLogger("ppgan_app.cli.export_model")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="export_model", description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", "--load", required=True,
                        help="FOMM checkpoint (path or known name)")
    parser.add_argument("--output", "--output_dir", default=PADDLEGAN_OUTPUT,
                        help=f"new folder for the graphs (default: {PADDLEGAN_OUTPUT})")
    parser.add_argument("--config", "-c", "--config-file", dest="config",
                        help="architecture YAML (default: the checkpoint's own)")
    parser.add_argument("--image_size", type=int,
                        help="frame side (default: the config's training size, else 256)")
    parser.add_argument("-s", "--inputs_size",
                        help="PaddleGAN's input shapes, e.g. '1,3,256,256;1,3,256,256;1,10,2;"
                        "1,10,2,2': the frame side is taken from the first")
    parser.add_argument("--format", choices=EXPORT_FORMATS, default="paddle",
                        help="paddle (Paddle Inference, the fast engine) or onnx (paddle2onnx; "
                        "the openvino engine, or any ONNX runtime)")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier export")
    return parser


def inputs_size_side(text: str) -> int:
    """The frame side of PaddleGAN's ``--inputs_size`` (``N,3,H,W;...``; ``H == W``).

    Raises:
        InputError: not a list of integer shapes, or the first is not ``N,3,S,S``.
    """
    from ppgan_app.errors import InputError

    try:
        shapes = [[int(v) for v in part.split(",")] for part in text.split(";") if part.strip()]
    except ValueError:
        shapes = []
    if not shapes or len(shapes[0]) != 4 or shapes[0][1] != 3 or shapes[0][2] != shapes[0][3] \
            or shapes[0][2] < 1:
        raise InputError(f"--inputs_size {text!r}: expected PaddleGAN's shapes such as "
                         "'1,3,256,256;1,3,256,256;1,10,2;1,10,2,2' (square frames)")
    return shapes[0][2]


def _main(args: argparse.Namespace) -> int:
    import paddle

    from ppgan_app.apps.fomm_export import export_checkpoint
    from ppgan_app.errors import InputError

    if args.image_size is not None and args.image_size < 1:
        raise InputError(f"--image_size must be positive, got {args.image_size}")
    size = args.image_size
    if args.inputs_size is not None:
        side = inputs_size_side(args.inputs_size)
        if size is not None and size != side:
            raise InputError(f"--image_size {size} and --inputs_size {args.inputs_size!r} "
                             "disagree; give one")
        size = side
    if args.format == "onnx" and importlib.util.find_spec("paddle2onnx") is None:
        raise InputError("--format onnx needs paddle2onnx: pip install -r requirements.txt")
    paddle.set_device("cpu")
    folder = export_checkpoint(args.checkpoint, args.output, config=args.config,
                               image_size=size, overwrite=args.overwrite, fmt=args.format)
    print(f"exported to {folder}")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    return parse_and_run(build_parser(), _main, argv, logger.name)


if __name__ == "__main__":
    sys.exit(main())
