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

import logging
import sys
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

from ppgan_app.cli.common import run_main
from ppgan_app.utils.options import Options, in_range, option
from ppgan_app.utils.process import MAX_THREADS

logger = logging.getLogger("ppgan_app.cli.augmentation_experiment")


@dataclass(frozen=True)
class ExperimentOptions(Options):
    """``ppgan-augmentation-experiment`` options."""

    config: Optional[str] = option(None, "experiment YAML (configs/augmentation_*.yaml)",
                                   short="-c", required=True, metavar="YAML", kind=str)
    override: Tuple[str, ...] = option(
        (), "override config values, e.g. sizes=[100] gan.iters=500 (values parsed as YAML)",
        short="-o", nargs="+", metavar="KEY=VALUE", kind=str)
    threads: Optional[int] = option(None, "CPU threads (default: the cores this process may "
                                    "use)", check=in_range(1, MAX_THREADS), metavar="N", kind=int)
    dry_run: bool = option(False, "check the config and data, print the plan, stop")
    report: bool = option(False, "only gather the cells done so far into the results "
                          "(compute nothing)")
    quiet: bool = option(False, "no progress bar")


def build_parser():
    """The parser, one flag per :class:`ExperimentOptions` field."""
    from ppgan_app.cli.options import build_parser as from_options

    return from_options(ExperimentOptions, "ppgan-augmentation-experiment",
                        "Real vs real + ordinary augmentation vs real + GAN images, per "
                        "real-images-per-class size and seed.")


def parse(argv: Sequence[str]) -> ExperimentOptions:
    from ppgan_app.cli.options import options_from

    return options_from(ExperimentOptions, build_parser().parse_args(argv))


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the experiment's cells; returns the exit code."""
    return run_main(parse, _run, argv, logger.name)


def _run(args: ExperimentOptions) -> int:
    from ppgan_app.apps.gan.augment_experiment import (cell_count, check_sizes, load_data,
                                                       load_experiment_config, run_experiment)

    cfg = load_experiment_config(args.config, list(args.override))
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


if __name__ == "__main__":
    sys.exit(main())
