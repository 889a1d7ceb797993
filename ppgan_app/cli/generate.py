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

import logging
import math
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, Type

from ppgan_app.cli.common import run_main
from ppgan_app.utils.options import Options, in_range, option
from ppgan_app.utils.process import MAX_THREADS
from ppgan_app.utils.visual import MAX_GRID_IMAGES

logger = logging.getLogger("ppgan_app.cli.generate")

MAX_SEED = 2**32 - 1


def _positive(value: float) -> Optional[str]:
    return None if math.isfinite(value) and value > 0 else "must be a positive number (e.g. 1.0)"


@dataclass(frozen=True)
class SamplingOptions(Options):
    """Options every ``generate.py`` command shares."""

    checkpoint: Optional[str] = option(None, "trainer checkpoint holding its config",
                                       required=True, metavar="CKPT", kind=str)
    seed: int = option(0, f"noise seed, 0..{MAX_SEED}; same seed, same files",
                       check=in_range(0, MAX_SEED), metavar="N")
    truncation: Optional[float] = option(
        None, "redraw noise entries beyond +-T (e.g. 1.0): fewer odd samples, less variety",
        check=_positive, metavar="T", kind=float)
    threads: Optional[int] = option(None, "CPU threads (default: the cores this process may "
                                    "use)", check=in_range(1, MAX_THREADS), metavar="N", kind=int)


@dataclass(frozen=True)
class ImagesOptions(SamplingOptions):
    """``generate.py images``: N images (per class if conditional) to a folder of PNGs."""

    num: Optional[int] = option(None, "images per class (conditional model) or in total "
                                "(unconditional)", required=True, metavar="N", kind=int)
    output: Optional[str] = option(None, "output folder (empty or new)", required=True,
                                   metavar="DIR", kind=str)
    labels: Optional[Tuple[int, ...]] = option(
        None, "class ids to generate (default: all classes; conditional models only)",
        nargs="+", metavar="ID", kind=int)
    batch_size: int = option(256, "images per generator call", metavar="N")
    grid: Optional[str] = option(
        None, f"also draw every generated image into one grid picture here (.png/.jpg; at most "
        f"{MAX_GRID_IMAGES} images)", metavar="PNG", kind=str)
    overwrite: bool = option(False, "allow a non-empty output folder")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.grid and self.num is not None and self.num > MAX_GRID_IMAGES:
            raise _grid_too_big(self.num)


@dataclass(frozen=True)
class GridOptions(SamplingOptions):
    """``generate.py grid``: one sample grid image (conditional: one row per class)."""

    output: Optional[str] = option(None, "grid image file (.png/.jpg)", required=True,
                                   metavar="PNG", kind=str)
    num: Optional[int] = option(None, f"images per class (default 8) or in total (default 64); "
                                f"at most {MAX_GRID_IMAGES} in the grid",
                                check=in_range(1, MAX_GRID_IMAGES), metavar="N", kind=int)
    labels: Optional[Tuple[int, ...]] = option(None, "class ids (default: all)", nargs="+",
                                               metavar="ID", kind=int)


@dataclass(frozen=True)
class InterpolateOptions(SamplingOptions):
    """``generate.py interpolate``: latent interpolation strips, one per row."""

    output: Optional[str] = option(None, "image file (.png/.jpg)", required=True,
                                   metavar="PNG", kind=str)
    rows: int = option(8, "strips", check=in_range(1, 256), metavar="N")
    steps: int = option(10, "images per strip", check=in_range(2, 256), metavar="N")
    label: Optional[int] = option(None, "class held fixed (conditional; default: row r is "
                                  "class r)", metavar="ID", kind=int)


@dataclass(frozen=True)
class AugmentOptions(SamplingOptions):
    """``generate.py augment``: a labelled image-folder data set from a conditional GAN."""

    output: Optional[str] = option(None, "data set folder (empty or new)", required=True,
                                   metavar="DIR", kind=str)
    per_class: Optional[int] = option(None, "generated images per class (M)", required=True,
                                      metavar="M", kind=int)
    labels: Optional[Tuple[int, ...]] = option(None, "class ids (default: all)", nargs="+",
                                               metavar="ID", kind=int)
    real_data_root: Optional[str] = option(
        None, "merge real images from this idx folder (Fashion-MNIST layout)", metavar="DIR",
        kind=str)
    real_dataset: str = option("fashion_mnist", "the real data set",
                               choices=("fashion_mnist", "mnist"))
    real_per_class: Optional[int] = option(
        None, "real images per class to merge (random, by --seed; default: all)",
        check=in_range(1), metavar="N", kind=int)
    batch_size: int = option(256, "images per generator call", metavar="N")
    overwrite: bool = option(False, "allow a non-empty output folder")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.real_per_class is not None and self.real_data_root is None:
            from ppgan_app.errors import InputError
            raise InputError("--real_per_class needs --real_data_root")


#: The commands, each with its options; ``images`` is the default command.
COMMANDS: dict = {"images": ImagesOptions, "grid": GridOptions,
                  "interpolate": InterpolateOptions, "augment": AugmentOptions}


def _grid_too_big(count: int) -> Exception:
    from ppgan_app.errors import InputError
    return InputError(f"--grid draws every generated image, and one grid holds at most "
                      f"{MAX_GRID_IMAGES}; {count} asked: lower --num, or draw a grid apart with "
                      f"'generate.py grid --num N' (N <= {MAX_GRID_IMAGES})")


def build_parser():
    """The argument parser: one sub-command per :data:`COMMANDS` entry."""
    from ppgan_app.cli.options import Parser, add_options

    parser = Parser(prog="generate", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", metavar="{" + ",".join(COMMANDS) + "}")
    for name, cls in COMMANDS.items():
        add_options(sub.add_parser(name, help=cls.__doc__.split(": ", 1)[1].rstrip(".")), cls)
    return parser


def parse(argv: Sequence[str]) -> SamplingOptions:
    """The checked options of one command (``images`` when none is named)."""
    from ppgan_app.cli.options import options_from
    from ppgan_app.errors import InputError

    argv = list(argv)
    if argv and argv[0] not in COMMANDS and argv[0] not in ("-h", "--help"):
        argv = ["images"] + argv  # the original interface: images is the default command
    args = build_parser().parse_args(argv)
    if args.command is None:
        raise InputError(f"name a command: {', '.join(COMMANDS)} (see generate --help)")
    cls: Type[SamplingOptions] = COMMANDS[args.command]
    return options_from(cls, args)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Parse, then run one command; returns the exit code."""
    return run_main(parse, _main, argv, logger.name)


def _main(args: SamplingOptions) -> int:
    from ppgan_app.apps.gan import sampler as gan_sampler

    if isinstance(args, ImagesOptions):
        summary = gan_sampler.generate_samples(args.checkpoint, args.output, args.num, labels=args.labels,
                                               batch_size=args.batch_size, seed=args.seed, grid=args.grid,
                                               overwrite=args.overwrite, truncation=args.truncation)
        classes = f" for classes {summary.labels}" if summary.labels is not None else ""
        grid = f"; grid {summary.grid}" if summary.grid else ""
        print(f"wrote {summary.files} images{classes} to {summary.output}{grid}")
    elif isinstance(args, GridOptions):
        path = gan_sampler.sample_grid(args.checkpoint, args.output, args.num, args.seed, args.labels,
                                       args.truncation)
        print(f"wrote grid {path}")
    elif isinstance(args, InterpolateOptions):
        path = gan_sampler.interpolation_strip(args.checkpoint, args.output, args.rows, args.steps, args.seed,
                                               args.label, args.truncation)
        print(f"wrote interpolation strips {path}")
    else:
        return _augment(args)
    return 0


def _augment(args: AugmentOptions) -> int:
    from ppgan_app.apps.gan.augment import write_augmented_dataset

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
