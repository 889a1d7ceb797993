"""Front ends of the GAN quality tools: the feature classifier and a checkpoint's figures.

    python tools/train_classifier.py --data_root DATA --output checkpoints/fashion_mnist_classifier.pdparams
    python tools/gan_quality.py --checkpoint RUN/iter_0004000_checkpoint.pdparams \
        --classifier checkpoints/fashion_mnist_classifier.pdparams --data_root DATA

Options are validated before any work; errors are one line (exit 2 bad input, 1 fault).
"""
from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Optional, Sequence

from ppgan_app.cli.common import run_cli
from ppgan_app.utils.cpu_env import apply_cpu_env, hide_paddle_noise

logger = logging.getLogger("ppgan_app.cli.quality")

FIGURE_ORDER = ("fd", "kid", "precision", "recall", "coverage", "entropy", "confidence", "fid", "is")


def _setup(threads: int) -> None:
    from ppgan_app.errors import InputError

    if threads < 1:
        raise InputError(f"--threads must be >= 1, got {threads}")
    hide_paddle_noise()
    apply_cpu_env()
    import paddle

    from ppgan_app.utils.logger import setup_logger
    setup_logger()
    paddle.base.core.set_num_threads(threads)


# --- train_classifier ------------------------------------------------------------------------
def classifier_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="train_classifier",
                                     description="Train the feature classifier of the GAN quality metrics.")
    parser.add_argument("--data_root", required=True, help="folder with the four idx files")
    parser.add_argument("--dataset", default="fashion_mnist", help="fashion_mnist (default) or mnist")
    parser.add_argument("--output", required=True, help="checkpoint file to write (.pdparams)")
    parser.add_argument("--epochs", type=int, default=2, help="passes over the 60,000 images (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")
    return parser


def train_classifier_main(argv: Optional[Sequence[str]] = None) -> int:
    args = classifier_parser().parse_args(argv)
    return run_cli(lambda: _train_classifier(args), logger_name="ppgan_app.cli.quality")


def _train_classifier(args: argparse.Namespace) -> int:
    from ppgan_app.errors import InputError
    from ppgan_app.utils.safe_files import check_destination

    if args.epochs < 1 or args.seed < 0:
        raise InputError(f"--epochs must be >= 1 and --seed >= 0, got {args.epochs} and {args.seed}")
    if Path(args.output).suffix != ".pdparams":
        raise InputError(f"--output {args.output} must end in .pdparams")
    check_destination(args.output, "classifier checkpoint")
    _setup(args.threads)
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
def quality_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gan_quality",
                                     description="Classifier-feature FD, KID, precision/recall and class "
                                                 "coverage of a GAN checkpoint, with the real floor.")
    parser.add_argument("--checkpoint", required=True, nargs="+", help="trainer checkpoint(s) of a GAN")
    parser.add_argument("--classifier", required=True, help="checkpoint from tools/train_classifier.py")
    parser.add_argument("--data_root", required=True, help="folder with the four idx files")
    parser.add_argument("--dataset", default="fashion_mnist", help="fashion_mnist (default) or mnist")
    parser.add_argument("--num", type=int, default=5000, help="generated and real images (default 5000)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    parser.add_argument("--truncation", type=float, help="sample z from N(0, I) truncated at this |z|")
    parser.add_argument("--generator", choices=("ema", "raw"), default="ema",
                        help="ema (default): the EMA generator when the checkpoint keeps one; raw: netG")
    parser.add_argument("--inception", nargs="?", const="inception-v3-fid", metavar="WEIGHTS",
                        help="also Inception FID (and IS when the weights have a classifier): PaddleGAN's "
                             "InceptionV3.pdparams, downloaded once into the cache, or a path; slow on a CPU")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")
    return parser


def quality_main(argv: Optional[Sequence[str]] = None) -> int:
    args = quality_parser().parse_args(argv)
    return run_cli(lambda: _quality(args), logger_name="ppgan_app.cli.quality")


def _format(figures: dict) -> str:
    return "  ".join(f"{k} {figures[k]:.4g}" for k in FIGURE_ORDER if k in figures)


def _quality(args: argparse.Namespace) -> int:
    from ppgan_app.errors import InputError
    from ppgan_app.utils.safe_files import atomic_output, check_destination

    if args.num < 10 or args.seed < 0:
        raise InputError(f"--num must be >= 10 and --seed >= 0, got {args.num} and {args.seed}")
    if args.truncation is not None and not args.truncation > 0:
        raise InputError(f"--truncation must be > 0, got {args.truncation}")
    missing = [p for p in [*args.checkpoint, args.classifier] if not Path(p).is_file()]
    if missing:
        raise InputError(f"not found: {', '.join(missing)} (the classifier is made by tools/train_classifier.py)")
    if args.json:
        check_destination(args.json, "JSON file")
    _setup(args.threads)
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
