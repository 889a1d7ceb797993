"""``tools/export_model.py``: a FOMM checkpoint -> the fast engine's static graphs.

    python tools/export_model.py --checkpoint RUN/iter_0003000_checkpoint.pdparams --output exported/tiny
    python applications/tools/first-order-demo.py --weight_path exported/tiny --relative

A kit training checkpoint carries its architecture and frame size; other weight files need
``--config``. Exit codes: 0 done, 1 a write failed, 2 bad input or options.
"""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Optional, Sequence

from ppgan_app.cli.common import parse_and_run

logger = logging.getLogger("ppgan_app.cli.export_model")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="export_model", description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True, help="FOMM checkpoint (path or known name)")
    parser.add_argument("--output", required=True, help="new folder for the graphs")
    parser.add_argument("--config", help="architecture YAML (default: the checkpoint's own)")
    parser.add_argument("--image_size", type=int,
                        help="frame side (default: the config's training size, else 256)")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier export")
    return parser


def _main(args: argparse.Namespace) -> int:
    import paddle

    from ppgan_app.apps.fomm_training.export import export_checkpoint
    from ppgan_app.errors import InputError

    if args.image_size is not None and args.image_size < 1:
        raise InputError(f"--image_size must be positive, got {args.image_size}")
    paddle.set_device("cpu")
    folder = export_checkpoint(args.checkpoint, args.output, config=args.config,
                               image_size=args.image_size, overwrite=args.overwrite)
    print(f"exported to {folder}")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    return parse_and_run(build_parser(), _main, argv, logger.name)


if __name__ == "__main__":
    sys.exit(main())
