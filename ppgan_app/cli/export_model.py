"""``tools/export_model.py``: a FOMM checkpoint -> the fast engine's static graphs.

    python tools/export_model.py --load RUN/iter_0003000_checkpoint.pdparams --output_dir exported/tiny
    python applications/tools/first-order-demo.py --weight_path exported/tiny --relative

A kit training checkpoint carries its architecture and frame size; other weight files need
``-c/--config-file``. ``--checkpoint``, ``--output`` and ``--config`` (the kit's first
spellings) are accepted too. Exit codes: 0 done, 1 a write failed, 2 bad input or options.
"""
from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import Optional, Sequence

from ppgan_app.cli.common import run_main
from ppgan_app.utils.options import Options, in_range, option

logger = logging.getLogger("ppgan_app.cli.export_model")


@dataclass(frozen=True)
class ExportOptions(Options):
    """``tools/export_model.py`` options (PaddleGAN's spellings; the kit's older ones kept)."""

    load: Optional[str] = option(None, "FOMM checkpoint (path or known name)", required=True,
                                 aliases=("--checkpoint",), metavar="CKPT", kind=str)
    output_dir: Optional[str] = option(None, "new folder for the graphs", required=True,
                                       aliases=("--output",), metavar="DIR", kind=str)
    config_file: Optional[str] = option(None, "architecture YAML (default: the checkpoint's "
                                        "own)", flag="--config-file", short="-c",
                                        aliases=("--config",), metavar="YAML", kind=str)
    image_size: Optional[int] = option(None, "frame side (default: the config's training "
                                       "size, else 256)", check=in_range(1, 4096), metavar="S",
                                       kind=int)
    overwrite: bool = option(False, "replace an earlier export")
    device: Optional[str] = option("cpu", "device (exports run on the CPU)", choices=("cpu",),
                                   cli=False)


def build_parser():
    """``export_model``'s parser, one flag per :class:`ExportOptions` field."""
    from ppgan_app.cli.options import build_parser as from_options

    return from_options(ExportOptions, "export_model", __doc__.split("\n\n")[0])


def parse(argv: Sequence[str]) -> ExportOptions:
    from ppgan_app.cli.options import options_from

    return options_from(ExportOptions, build_parser().parse_args(argv))


def _main(args: ExportOptions) -> int:
    from ppgan_app.apps.fomm_export import export_checkpoint

    folder = export_checkpoint(args.load, args.output_dir, config=args.config_file,
                               image_size=args.image_size, overwrite=args.overwrite)
    print(f"exported to {folder}")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Export a checkpoint; returns the exit code."""
    return run_main(parse, _main, argv, logger.name)


if __name__ == "__main__":
    sys.exit(main())
