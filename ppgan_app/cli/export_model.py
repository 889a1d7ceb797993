"""``tools/export_model.py``: a FOMM checkpoint -> static graphs (Paddle Inference or ONNX).

    python tools/export_model.py --load RUN/iter_0003000_checkpoint.pdparams --output_dir exported/tiny
    python tools/export_model.py --load vox-mobile -c firstorder_vox_mobile_256 --format onnx --output_dir exported/mobile_onnx
    python tools/export_model.py -c configs/firstorder_vox_256.yaml --load vox-cpk.pdparams --inputs_size "1,3,256,256;1,3,256,256;1,10,2;1,10,2,2"
    python applications/tools/first-order-demo.py --weight_path exported/tiny --relative

A kit training checkpoint carries its architecture and frame size; other weight files need
``-c/--config-file``. PaddleGAN's ``-s/--inputs_size 1,3,256,256;...`` sets the frame side and
``--output_dir`` defaults to PaddleGAN's ``inference_model``; the kit's first spellings
``--checkpoint``, ``--output`` and ``--config`` are accepted too. ``--format onnx`` writes ONNX
graphs (paddle2onnx) for the openvino engine or any ONNX runtime. Every export records the size
and SHA-256 of its files, checked when it is loaded. Exit codes: 0 done, 1 a write failed, 2 bad
input or options.
"""
from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import Optional, Sequence

from ppgan_app.apps.fomm_training.export import EXPORT_FORMATS
from ppgan_app.cli.common import run_main
from ppgan_app.errors import InputError
from ppgan_app.utils.options import Options, in_range, option

logger = logging.getLogger("ppgan_app.cli.export_model")


@dataclass(frozen=True)
class ExportOptions(Options):
    """``tools/export_model.py`` options (PaddleGAN's spellings; the kit's older ones kept)."""

    load: Optional[str] = option(None, "FOMM checkpoint (path or known name)", required=True,
                                 aliases=("--checkpoint",), metavar="CKPT", kind=str)
    output_dir: str = option("inference_model", "new folder for the graphs",
                             aliases=("--output",), metavar="DIR")
    config_file: Optional[str] = option(None, "architecture YAML (default: the checkpoint's "
                                        "own)", flag="--config-file", short="-c",
                                        aliases=("--config",), metavar="YAML", kind=str)
    image_size: Optional[int] = option(None, "frame side (default: the config's training "
                                       "size, else 256)", check=in_range(1, 4096), metavar="S",
                                       kind=int)
    inputs_size: Optional[str] = option(
        None, "PaddleGAN's input shapes 'N,C,H,W[;...]': the first one's H (= W) is the frame "
        "side, as --image_size", short="-s", metavar="SHAPES", kind=str)
    format: str = option("paddle", "paddle (Paddle Inference graphs, the fast engine) or onnx "
                         "(paddle2onnx: the openvino engine, or any ONNX runtime)",
                         choices=EXPORT_FORMATS)
    overwrite: bool = option(False, "replace an earlier export")
    device: Optional[str] = option("cpu", "device (exports run on the CPU)", choices=("cpu",),
                                   cli=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.inputs_size is not None:
            side = _side_of(self.inputs_size)
            if self.image_size not in (None, side):
                raise InputError(f"--inputs_size {self.inputs_size} gives {side} px frames but "
                                 f"--image_size says {self.image_size}: give one of them")
            object.__setattr__(self, "image_size", side)


def _side_of(inputs_size: str) -> int:
    """The frame side of PaddleGAN's ``-s/--inputs_size`` (``1,3,256,256;1,10,2;...``)."""
    first = inputs_size.split(";")[0]
    try:
        shape = [int(v) for v in first.split(",")]
    except ValueError:
        shape = []
    if len(shape) != 4 or shape[2] != shape[3] or shape[2] < 1:
        raise InputError(f"--inputs_size {inputs_size!r}: expected N,C,H,W with H = W first "
                         "(e.g. 1,3,256,256), as PaddleGAN's export_model.py takes it")
    return shape[2]


def build_parser():
    """``export_model``'s parser, one flag per :class:`ExportOptions` field."""
    from ppgan_app.cli.options import build_parser as from_options

    return from_options(ExportOptions, "export_model", __doc__.split("\n\n")[0])


def parse(argv: Sequence[str]) -> ExportOptions:
    from ppgan_app.cli.options import options_from

    return options_from(ExportOptions, build_parser().parse_args(argv))


def _main(args: ExportOptions) -> int:
    import importlib.util

    from ppgan_app.apps.fomm_training.export import export_checkpoint

    if args.format == "onnx" and importlib.util.find_spec("paddle2onnx") is None:
        raise InputError("--format onnx needs paddle2onnx: pip install -r requirements.txt")
    folder = export_checkpoint(args.load, args.output_dir, config=args.config_file,
                               image_size=args.image_size, overwrite=args.overwrite,
                               fmt=args.format)
    print(f"exported to {folder}")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Export a checkpoint; returns the exit code."""
    return run_main(parse, _main, argv, logger.name)


if __name__ == "__main__":
    sys.exit(main())
