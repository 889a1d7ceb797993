"""Command line for expression transfer: ``applications/tools/first-order-demo.py``.

Flag names and meanings follow PaddleGAN's ``first-order-demo.py``. Every flag is built
from a dataclass field (:mod:`ppgan_app.cli.options`): the predictor's from
:class:`ppgan_app.apps.expression_transfer.options.TransferOptions` (their help, types and
defaults live there), the inputs and console flags from :class:`DemoInputs` and
:class:`ConsoleFlags`; flags left unset fall through to the defaults. Every bad value, a
malformed number included, ends as one ``error:`` line and exit code 2.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from ppgan_app.cli.options import Parser, add_options
from ppgan_app.utils.options import Options, option

logger = logging.getLogger("ppgan_app.first_order")


@dataclass(frozen=True)
class DemoInputs(Options):
    """The demo's inputs (not predictor options)."""

    source_image: Optional[Tuple[str, ...]] = option(
        None, "portrait to animate (default: bundled sample); several files or a folder "
        "animate each with one decode of the driving video, writing <output>/<portrait "
        "name>.mp4 (exit 4 when some of them failed)", nargs="+", metavar="IMAGE", kind=str)
    driving_video: Optional[str] = option(
        None, "video whose face motion is transferred (default: bundled sample)",
        metavar="VIDEO", kind=str)


@dataclass(frozen=True)
class ConsoleFlags(Options):
    """Flags of the demo and the web app that are not predictor options."""

    cpu: bool = option(False, "run on the CPU (same as --device cpu)")
    quiet: bool = option(False, "no progress bar, warnings only")
    verbose: bool = option(False, "debug logging (e.g. every mismatched key of a checkpoint)")


#: CLI-only options that are not predictor arguments.
_CLI_ONLY = tuple(f.name for cls in (DemoInputs, ConsoleFlags) for f in dataclasses.fields(cls))


class PredictorRun:
    """A parsed command line around predictor options (``self.options``): the process policy
    reads their threads and device."""

    @property
    def threads(self) -> Optional[int]:
        return self.options.threads

    @property
    def device(self) -> Optional[str]:
        return self.options.device


@dataclass(frozen=True)
class DemoRun(PredictorRun):
    """A parsed demo command line: inputs, and the predictor options (checked)."""

    inputs: DemoInputs
    options: Any  # TransferOptions


def build_parser() -> argparse.ArgumentParser:
    """The demo's argument parser (unset options are absent from the namespace)."""
    from ppgan_app.apps.expression_transfer.options import TransferOptions

    p = Parser(
        prog="first-order-demo.py", argument_default=argparse.SUPPRESS,
        description="Animate the face(s) of a portrait with the motion of a driving video "
                    "(First Order Motion Model). Without --source_image/--driving_video the "
                    "bundled sample is used.")
    for cls in (DemoInputs, TransferOptions, ConsoleFlags):
        add_options(p, cls, suppress=True)
    return p


def predictor_kwargs(args: argparse.Namespace) -> Dict[str, Any]:
    """Map parsed flags to :class:`FirstOrderPredictor` keyword arguments (only those set).

    Raises:
        InputError: contradictory flags (``--cpu`` with ``--device gpu``).
    """
    from ppgan_app.errors import InputError

    kwargs = {k: v for k, v in vars(args).items() if k not in _CLI_ONLY}
    if getattr(args, "cpu", False):
        if kwargs.get("device", "cpu") != "cpu":
            raise InputError(f"--cpu contradicts --device {kwargs['device']}")
        kwargs["device"] = "cpu"
    if getattr(args, "quiet", False):
        kwargs["progress"] = False
    return kwargs


def parse(argv: Optional[List[str]]) -> DemoRun:
    """The checked demo command line (every predictor option checked before any work)."""
    from ppgan_app.apps.expression_transfer.options import TransferOptions
    from ppgan_app.cli.options import options_from
    from ppgan_app.errors import InputError

    args = build_parser().parse_args(argv)
    kwargs = predictor_kwargs(args)
    inputs = options_from(DemoInputs, args)
    sources = inputs.source_image
    if sources is not None and (len(sources) > 1 or os.path.isdir(sources[0])) \
            and "filename" in kwargs:
        raise InputError("--filename names one result; with several portraits each result is "
                         "named after its portrait (<output>/<name>.mp4): drop --filename")
    return DemoRun(inputs, TransferOptions.from_kwargs(**kwargs))


def main(argv: Optional[List[str]] = None) -> int:
    """Run the demo; return the exit code (see :mod:`ppgan_app.errors`: 0 ok, 1 fault,
    2 bad input or options, 4 a batch where some portraits failed, 130 Ctrl-C, 143 SIGTERM)."""
    from ppgan_app.cli.common import run_main

    return run_main(parse, _run, argv, logger.name, console=True)


def _run(run: DemoRun) -> int:
    from ppgan_app.apps.expression_transfer.predictor import FirstOrderPredictor
    from ppgan_app.errors import EXIT_PARTIAL

    predictor = FirstOrderPredictor(run.options)
    sources, driving = run.inputs.source_image, run.inputs.driving_video
    if sources is not None and (len(sources) > 1 or os.path.isdir(sources[0])):
        summary = predictor.run_batch(list(sources), driving)
        print(summary.table())
        return 0 if summary.ok else EXIT_PARTIAL
    summary = predictor.run_with_summary(sources[0] if sources else None, driving)
    if summary.still:
        print(f"wrote {summary.path}: the portrait with the still driving picture's expression "
              f"in {summary.seconds:.1f} s")
        return 0
    print(f"wrote {summary.path}: {summary.frames} frames at {summary.fps:g} fps in "
          f"{summary.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
