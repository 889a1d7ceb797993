"""``tools/generate.py``: everything a trained GAN makes, from its checkpoint alone.

    python tools/generate.py images --checkpoint CKPT --num 1000 --output generated/ [--labels 0 3] [--grid g.png]
    python tools/generate.py grid --checkpoint CKPT --output grid.png [--num 8] [--truncation 1.0]
    python tools/generate.py interpolate --checkpoint CKPT --output strip.png [--rows 8 --steps 10]
    python tools/generate.py augment --checkpoint COND_CKPT --per_class 500 --output augmented/ \
        [--real_data_root DATA --real_per_class 100]

``images`` is the default command (``tools/generate.py --checkpoint ... --num ... --output ...``
works as before). Every option and destination is checked before anything is generated;
results appear only complete. Exit codes: 0 done, 1 a write failed (disk full, ...), 2 bad
input or options, 130/143 interrupted (partial outputs removed).
"""
from __future__ import annotations

import argparse
import logging
from typing import Optional, Sequence

from ppgan_app.cli.common import run_cli
from ppgan_app.utils.cpu_env import apply_cpu_env, hide_paddle_noise

logger = logging.getLogger("ppgan_app.cli.generate")

COMMANDS = ("images", "grid", "interpolate", "augment")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, help="trainer checkpoint holding its config")
    parser.add_argument("--seed", type=int, default=0, help="noise seed, 0..2^32-1; same seed, same files")
    parser.add_argument("--truncation", type=float,
                        help="redraw noise entries beyond +-T (e.g. 1.0): fewer odd samples, less variety")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="generate", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", metavar="{" + ",".join(COMMANDS) + "}")
    images = sub.add_parser("images", help="N images (per class if conditional) to a folder of PNGs")
    _common(images)
    images.add_argument("--num", type=int, required=True,
                        help="images per class (conditional model) or in total (unconditional)")
    images.add_argument("--output", required=True, help="output folder (empty or new)")
    images.add_argument("--labels", type=int, nargs="+", metavar="ID",
                        help="class ids to generate (default: all classes; conditional models only)")
    images.add_argument("--batch_size", "--batch-size", type=int, default=256,
                        help="images per generator call (default: 256)")
    images.add_argument("--grid", help="also write one sample grid image here (.png/.jpg)")
    images.add_argument("--overwrite", action="store_true", help="allow a non-empty output folder")

    grid = sub.add_parser("grid", help="one sample grid image (conditional: one row per class)")
    _common(grid)
    grid.add_argument("--output", required=True, help="grid image file (.png/.jpg)")
    grid.add_argument("--num", type=int, help="images per class (default 8) or in total (default 64)")
    grid.add_argument("--labels", type=int, nargs="+", metavar="ID", help="class ids (default: all)")

    strip = sub.add_parser("interpolate", help="latent interpolation strips, one per row")
    _common(strip)
    strip.add_argument("--output", required=True, help="image file (.png/.jpg)")
    strip.add_argument("--rows", type=int, default=8, help="strips (default 8)")
    strip.add_argument("--steps", type=int, default=10, help="images per strip (default 10)")
    strip.add_argument("--label", type=int, help="class held fixed (conditional; default: row r is class r)")

    aug = sub.add_parser("augment", help="labelled image-folder data set from a conditional GAN")
    _common(aug)
    aug.add_argument("--output", required=True, help="data set folder (empty or new)")
    aug.add_argument("--per_class", type=int, required=True, help="generated images per class (M)")
    aug.add_argument("--labels", type=int, nargs="+", metavar="ID", help="class ids (default: all)")
    aug.add_argument("--real_data_root", help="merge real images from this idx folder (Fashion-MNIST layout)")
    aug.add_argument("--real_dataset", default="fashion_mnist", help="fashion_mnist (default) or mnist")
    aug.add_argument("--real_per_class", type=int,
                     help="real images per class to merge (random, by --seed; default: all)")
    aug.add_argument("--batch_size", type=int, default=256, help="images per generator call")
    aug.add_argument("--overwrite", action="store_true", help="allow a non-empty output folder")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Parse, then run one command; returns the exit code."""
    import sys

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in COMMANDS and argv[0] not in ("-h", "--help"):
        argv = ["images"] + argv  # the original interface: images is the default command
    args = build_parser().parse_args(argv)
    if args.command is None:
        build_parser().print_help()
        return 2
    return run_cli(lambda: _main(args), logger_name="ppgan_app.cli.generate")


def _setup(threads: int) -> None:
    from ppgan_app.errors import InputError

    if threads < 1:
        raise InputError(f"--threads must be >= 1, got {threads}")
    hide_paddle_noise()
    apply_cpu_env()  # before Paddle loads MKL
    import paddle

    from ppgan_app.utils.logger import setup_logger
    setup_logger()
    paddle.base.core.set_num_threads(threads)


def _main(args: argparse.Namespace) -> int:
    _setup(args.threads)
    from ppgan_app.apps.gan import sampler as gan_sampler

    if args.command == "images":
        summary = gan_sampler.generate_samples(args.checkpoint, args.output, args.num, labels=args.labels,
                                               batch_size=args.batch_size, seed=args.seed, grid=args.grid,
                                               overwrite=args.overwrite, truncation=args.truncation)
        classes = f" for classes {summary.labels}" if summary.labels is not None else ""
        grid = f"; grid {summary.grid}" if summary.grid else ""
        print(f"wrote {summary.files} images{classes} to {summary.output}{grid}")
    elif args.command == "grid":
        path = gan_sampler.sample_grid(args.checkpoint, args.output, args.num, args.seed, args.labels,
                                       args.truncation)
        print(f"wrote grid {path}")
    elif args.command == "interpolate":
        path = gan_sampler.interpolation_strip(args.checkpoint, args.output, args.rows, args.steps, args.seed,
                                               args.label, args.truncation)
        print(f"wrote interpolation strips {path}")
    else:
        return _augment(args)
    return 0


def _augment(args: argparse.Namespace) -> int:
    from ppgan_app.apps.gan.augment import write_augmented_dataset
    from ppgan_app.errors import InputError

    if args.real_per_class is not None and args.real_data_root is None:
        raise InputError("--real_per_class needs --real_data_root")
    if args.real_per_class is not None and args.real_per_class < 1:
        raise InputError(f"--real_per_class must be >= 1, got {args.real_per_class}")
    images = labels = None
    if args.real_data_root:
        from ppgan_app.apps.gan.labelled_data import load_idx_arrays, per_class_subset
        images, labels = load_idx_arrays(args.real_data_root, "train", args.real_dataset)
        if args.real_per_class is not None:
            keep = per_class_subset(labels, args.real_per_class, args.seed)
            images, labels = images[keep], labels[keep]
    summary = write_augmented_dataset(args.checkpoint, args.output, args.per_class, images, labels,
                                      labels=args.labels, seed=args.seed, truncation=args.truncation,
                                      batch_size=args.batch_size, overwrite=args.overwrite)
    print(f"wrote {sum(summary.generated.values())} generated and {sum(summary.real.values())} real "
          f"images in {len(set(summary.generated) | set(summary.real))} class folders to {summary.output}")
    return 0
