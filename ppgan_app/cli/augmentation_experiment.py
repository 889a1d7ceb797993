"""``ppgan-augmentation-experiment``: does GAN augmentation help a classifier trained on little data?

    ppgan-augmentation-experiment -c configs/augmentation_fashion_mnist.yaml
    ppgan-augmentation-experiment -c configs/augmentation_fashion_mnist.yaml -o sizes=[100] seeds=[0,1,2]
    ppgan-augmentation-experiment -c configs/augmentation_fashion_mnist.yaml \\
        -o dataset.name=image_folder dataset.dataroot=my_images   # one sub-folder per class

Runs the (size, seed, arm) cells the config lists (see ``ppgan_app.apps.gan.augment_experiment``),
skipping those done by an earlier run, and prints the Markdown table it writes. Exit codes as every
front end of the kit (0 ok, 1 fault, 2 bad input or config, 130 Ctrl-C).
"""
from __future__ import annotations

import argparse
import logging
from typing import Optional, Sequence

from ppgan_app.cli.common import parse_and_run

logger = logging.getLogger("ppgan_app.cli.augmentation_experiment")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ppgan-augmentation-experiment",
                                     description="Real vs real + ordinary augmentation vs real + GAN images, "
                                                 "per real-images-per-class size and seed.")
    parser.add_argument("-c", "--config", required=True, help="experiment YAML (configs/augmentation_*.yaml)")
    parser.add_argument("-o", "--override", nargs="+", default=[], metavar="KEY=VALUE",
                        help="override config values, e.g. sizes=[100] gan.iters=500")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")
    parser.add_argument("--dry-run", action="store_true", help="check the config and data, print the plan, stop")
    parser.add_argument("--report", action="store_true",
                        help="only gather the cells done so far into the results (compute nothing)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    return parse_and_run(build_parser(), _run, argv, logger.name)


def _run(args: argparse.Namespace) -> int:
    from ppgan_app.apps.gan.augment_experiment import (cell_count, check_sizes, load_data,
                                                       load_experiment_config, run_experiment)
    from ppgan_app.errors import InputError

    if args.threads < 1:
        raise InputError(f"--threads must be >= 1, got {args.threads}")
    cfg = load_experiment_config(args.config, args.override)
    import paddle
    paddle.set_device("cpu")
    paddle.base.core.set_num_threads(args.threads)
    if args.dry_run:
        check_sizes(load_data(cfg.dataset), cfg.sizes)
        print(f"{cell_count(cfg)} cells: sizes {list(cfg.sizes)} x seeds {list(cfg.seeds)} x arms "
              f"{[a.name for a in cfg.arms]}; results in {cfg.output_dir}")
        return 0
    summary = run_experiment(cfg, progress=not args.quiet, compute=not args.report)
    print(summary.markdown_path.read_text(encoding="utf-8"), end="")
    print(f"{summary.computed} cell(s) computed, {summary.reused} reused, {summary.missing} not done; "
          f"wrote {summary.json_path} and {summary.markdown_path}")
    return 0
