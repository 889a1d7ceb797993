"""Front ends of the GAN quality tools: the feature classifier and a checkpoint's figures.

    python tools/train_classifier.py --data_root DATA --output checkpoints/fashion_mnist_classifier.pdparams
    python tools/gan_quality.py --checkpoint RUN/iter_0004000_checkpoint.pdparams \
        --classifier checkpoints/fashion_mnist_classifier.pdparams --data_root DATA

Options are validated before any work; errors are one line (exit 2 bad input, 1 fault).
"""
from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Tuple

from ppgan_app.cli.common import run_main
from ppgan_app.utils.options import Options, in_range, option
from ppgan_app.utils.process import MAX_THREADS

logger = logging.getLogger("ppgan_app.cli.quality")

FIGURE_ORDER = ("fd", "kid", "precision", "recall", "coverage", "entropy", "confidence", "fid", "is")
DATASETS = ("fashion_mnist", "mnist")
MAX_SEED = 2**32 - 1


# --- train_classifier ------------------------------------------------------------------------
@dataclass(frozen=True)
class ClassifierOptions(Options):
    """``tools/train_classifier.py`` options."""

    data_root: Optional[str] = option(None, "folder with the four idx files", required=True,
                                      metavar="DIR", kind=str)
    dataset: str = option("fashion_mnist", "the data set", choices=DATASETS)
    output: Optional[str] = option(None, "checkpoint file to write (.pdparams)", required=True,
                                   metavar="FILE", kind=str)
    epochs: int = option(2, "passes over the 60,000 images", check=in_range(1, 1000),
                         metavar="N")
    seed: int = option(0, "seed", check=in_range(0, MAX_SEED), metavar="N")
    threads: Optional[int] = option(None, "CPU threads (default: the cores this process may "
                                    "use)", check=in_range(1, MAX_THREADS), metavar="N", kind=int)

    def __post_init__(self) -> None:
        super().__post_init__()
        if Path(self.output).suffix != ".pdparams":
            from ppgan_app.errors import InputError
            raise InputError(f"--output {self.output} must end in .pdparams")


def classifier_parser():
    """``train_classifier``'s parser, one flag per :class:`ClassifierOptions` field."""
    from ppgan_app.cli.options import build_parser

    return build_parser(ClassifierOptions, "train_classifier",
                        "Train the feature classifier of the GAN quality metrics.")


def train_classifier_main(argv: Optional[Sequence[str]] = None) -> int:
    """``tools/train_classifier.py``; returns the exit code."""
    from ppgan_app.cli.options import options_from

    return run_main(lambda a: options_from(ClassifierOptions, classifier_parser().parse_args(a)),
                    _train_classifier, argv, logger.name)


def _train_classifier(args: ClassifierOptions) -> int:
    from ppgan_app.utils.safe_files import check_destination

    check_destination(args.output, "classifier checkpoint")
    from ppgan_app.apps.gan.classifier import FitOptions, accuracy, fit_classifier, save_classifier
    from ppgan_app.apps.gan.labelled_data import load_idx_arrays

    train_x, train_y = load_idx_arrays(args.data_root, "train", args.dataset)
    test_x, test_y = load_idx_arrays(args.data_root, "test", args.dataset)
    start = time.time()
    net = fit_classifier(train_x, train_y, 10, FitOptions(epochs=args.epochs, seed=args.seed))
    acc = accuracy(net, test_x, test_y)
    save_classifier(net, args.output, {"dataset": args.dataset, "test_accuracy": acc, "epochs": args.epochs,
                                       "seed": args.seed})
    print(f"test accuracy {acc:.4f} after {args.epochs} epoch(s), {time.time() - start:.0f} s; "
          f"wrote {args.output}")
    return 0


# --- gan_quality ------------------------------------------------------------------------------
def _positive(value: float) -> Optional[str]:
    return None if math.isfinite(value) and value > 0 else "must be > 0"


@dataclass(frozen=True)
class QualityOptions(Options):
    """``tools/gan_quality.py`` options."""

    checkpoint: Optional[Tuple[str, ...]] = option(None, "trainer checkpoint(s) of a GAN",
                                                   required=True, nargs="+", metavar="CKPT",
                                                   kind=str)
    classifier: Optional[str] = option(None, "checkpoint from tools/train_classifier.py",
                                       required=True, metavar="FILE", kind=str)
    data_root: Optional[str] = option(None, "folder with the four idx files", required=True,
                                      metavar="DIR", kind=str)
    dataset: str = option("fashion_mnist", "the data set", choices=DATASETS)
    num: int = option(5000, "generated and real images", check=in_range(10), metavar="N")
    seed: int = option(0, "noise seed", check=in_range(0, MAX_SEED), metavar="N")
    truncation: Optional[float] = option(None, "sample z from N(0, I) truncated at this |z|",
                                         check=_positive, metavar="T", kind=float)
    generator: str = option("ema", "ema: the EMA generator when the checkpoint keeps one; "
                            "raw: netG", choices=("ema", "raw"))
    inception: Optional[str] = option(
        None, "also Inception FID (and IS when the weights have a classifier): PaddleGAN's "
        "InceptionV3.pdparams, downloaded once into the cache, or a path; slow on a CPU "
        "(the flag alone: inception-v3-fid)", metavar="WEIGHTS", kind=str)
    json: Optional[str] = option(None, "also write the figures to this JSON file",
                                 metavar="FILE", kind=str)
    threads: Optional[int] = option(None, "CPU threads (default: the cores this process may "
                                    "use)", check=in_range(1, MAX_THREADS), metavar="N", kind=int)


def quality_parser():
    """``gan_quality``'s parser (``--inception`` alone names the default weights)."""
    from ppgan_app.cli.options import build_parser

    parser = build_parser(QualityOptions, "gan_quality",
                          "Classifier-feature FD, KID, precision/recall and class coverage of "
                          "GAN checkpoints, with the real floor.")
    for action in parser._actions:
        if action.dest == "inception":
            action.nargs, action.const = "?", "inception-v3-fid"
    return parser


def quality_main(argv: Optional[Sequence[str]] = None) -> int:
    """``tools/gan_quality.py``; returns the exit code."""
    from ppgan_app.cli.options import options_from

    return run_main(lambda a: options_from(QualityOptions, quality_parser().parse_args(a)),
                    _quality, argv, logger.name)


def _format(figures: dict) -> str:
    return "  ".join(f"{k} {figures[k]:.4g}" for k in FIGURE_ORDER if k in figures)


def _quality(args: QualityOptions) -> int:
    from ppgan_app.errors import InputError
    from ppgan_app.utils.safe_files import atomic_output, check_destination

    missing = [p for p in [*args.checkpoint, args.classifier] if not Path(p).is_file()]
    if missing:
        raise InputError(f"not found: {', '.join(missing)} (the classifier is made by tools/train_classifier.py)")
    if args.json:
        check_destination(args.json, "JSON file")
    from ppgan_app.apps.gan.quality import evaluate_checkpoint, real_floor
    from ppgan_app.metrics.inception import load_inception

    inception = load_inception(args.inception) if args.inception else None  # missing weights: before work

    results, floors = {}, {}
    for path in args.checkpoint:
        report = evaluate_checkpoint(path, args.classifier, args.data_root, args.num, args.dataset,
                                     args.seed, args.truncation, with_floor=False,
                                     use_ema=args.generator == "ema", inception=inception)
        if report.size not in floors:  # the floor depends on the resolution only: once per size
            floors[report.size] = real_floor(args.classifier, args.data_root, args.num, report.size,
                                             args.dataset, args.seed, inception)
        floor = floors[report.size]
        label = f"  label accuracy {report.label_accuracy:.4f}" if report.label_accuracy is not None else ""
        print(f"{path}\n  generated:  {_format(report.generated)}{label}\n"
              f"  real floor: {_format(floor)} (train vs test at {report.size}x{report.size})", flush=True)
        results[path] = {"generated": report.generated, "floor": floor, "num": report.num,
                         "size": report.size, "label_accuracy": report.label_accuracy}
    if args.json:
        with atomic_output(args.json) as tmp:
            tmp.write_text(json.dumps(results, indent=2))
    return 0
