"""Write labelled samples of a trained GAN as PNGs (a folder ``ImageFolderDataset`` reads).

    python tools/generate.py --checkpoint RUN/iter_0004000_checkpoint.pdparams --num 1000 --output generated/
    python tools/generate.py --checkpoint CKPT --num 200 --output gen/ --labels 0 3 7 --seed 1 --grid grid.png

The model is rebuilt from the config stored in the checkpoint. A conditional model gives
``--num`` images per class in ``<output>/<class_id>/<index>.png``; an unconditional one
gives ``<output>/<index>.png``. Exit codes: 0 done, 2 bad input or options.
"""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Optional, Sequence

from ppgan_app.utils.cpu_env import apply_cpu_env, hide_paddle_build_warning

logger = logging.getLogger("ppgan_app.tools.generate")

EXIT_USER_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True, help="trainer checkpoint holding its config")
    parser.add_argument("--num", type=int, required=True,
                        help="images per class (conditional model) or in total (unconditional)")
    parser.add_argument("--output", required=True, help="output folder (empty or new)")
    parser.add_argument("--labels", type=int, nargs="+", metavar="ID",
                        help="class ids to generate (default: all classes; conditional models only)")
    parser.add_argument("--batch_size", "--batch-size", type=int, default=256,
                        help="images per generator call (default: 256)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed; same seed, same files (default: 0)")
    parser.add_argument("--grid", help="also write one sample grid PNG here")
    parser.add_argument("--overwrite", action="store_true", help="allow a non-empty output folder")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Generate samples; return the exit code (0 ok, 2 bad input or options)."""
    args = build_parser().parse_args(argv)
    hide_paddle_build_warning()
    apply_cpu_env()  # before Paddle (imported by the sampler) loads MKL
    from ppgan_app.utils.logger import setup_logger
    setup_logger()
    from ppgan_app.apps.errors import InputError
    from ppgan_app.apps.gan_sampler import generate_samples
    try:
        summary = generate_samples(args.checkpoint, args.output, args.num, labels=args.labels,
                                   batch_size=args.batch_size, seed=args.seed, grid=args.grid,
                                   overwrite=args.overwrite)
    except InputError as err:
        logger.error("%s", str(err).splitlines()[0] if str(err) else type(err).__name__)
        return EXIT_USER_ERROR
    classes = f" for classes {summary.labels}" if summary.labels is not None else ""
    grid = f"; grid {summary.grid}" if summary.grid else ""
    print(f"wrote {summary.files} images{classes} to {summary.output}{grid}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
