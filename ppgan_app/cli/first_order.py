"""Command line for expression transfer: ``applications/tools/first-order-demo.py``.

Flag names and meanings follow PaddleGAN's ``first-order-demo.py``. The predictor's flags are
built from :class:`ppgan_app.apps.expression_transfer.options.TransferOptions` (their help, types
and defaults live there); flags left unset fall through to its defaults. Every bad value, a
malformed number included, ends as one ``error:`` line and exit code 2.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from typing import Any, Dict, List, NoReturn, Optional

logger = logging.getLogger("ppgan_app.first_order")

#: CLI-only options that are not predictor arguments.
_CLI_ONLY = ("source_image", "driving_video", "cpu", "quiet", "verbose")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are :class:`InputError` (one line, exit 2)."""

    def error(self, message: str) -> NoReturn:
        from ppgan_app.errors import InputError

        raise InputError(message)


def _help(f: dataclasses.Field) -> str:
    """A field's help text with our default and PaddleGAN's when it differs."""
    text = f.metadata["help"]
    if f.default is not None and not isinstance(f.default, bool):
        text += f" (default: {f.default}"
        if f.metadata["paddlegan"] is not _paddlegan_same():
            text += f"; PaddleGAN: {f.metadata['paddlegan']}"
        text += ")"
    elif f.metadata["paddlegan"] is not _paddlegan_same():
        text += f" (PaddleGAN: {f.metadata['paddlegan']})"
    return text.replace("%", "%%")


def _paddlegan_same() -> Any:
    from ppgan_app.apps.expression_transfer import options

    return options._SAME


def _add_option(p: argparse.ArgumentParser, f: dataclasses.Field) -> None:
    from ppgan_app.apps.expression_transfer.options import choices_of, value_kind

    kind = value_kind(f)
    choices = choices_of(f)
    if kind is bool and f.default is False:
        p.add_argument(f"--{f.name}", action="store_true", help=_help(f))
    elif kind is bool:
        p.add_argument(f"--{f.name}", action=argparse.BooleanOptionalAction, help=_help(f))
    else:
        p.add_argument(f"--{f.name}", type=kind if kind in (int, float) else str,
                       metavar="{" + ",".join(choices) + "}" if choices else f.metadata["metavar"],
                       help=_help(f))


def build_parser() -> argparse.ArgumentParser:
    """The demo's argument parser (unset options are absent from the namespace)."""
    from ppgan_app.apps.expression_transfer.options import option_fields

    p = _Parser(
        prog="first-order-demo.py", argument_default=argparse.SUPPRESS,
        description="Animate the face(s) of a portrait with the motion of a driving video "
                    "(First Order Motion Model). Without --source_image/--driving_video the "
                    "bundled sample is used.")
    p.add_argument("--source_image", nargs="+", metavar="IMAGE",
                   help="portrait to animate (default: bundled sample); several files or a "
                        "folder animate each with one decode of the driving video, writing "
                        "<output>/<portrait name>.mp4 (exit 4 when some of them failed)")
    p.add_argument("--driving_video", help="video whose face motion is transferred "
                                           "(default: bundled sample)")
    for f in option_fields():
        if f.metadata["cli"]:
            _add_option(p, f)
    p.add_argument("--cpu", action="store_true", help="run on the CPU (same as --device cpu)")
    p.add_argument("--quiet", action="store_true", help="no progress bar, warnings only")
    p.add_argument("--verbose", action="store_true",
                   help="debug logging (e.g. every mismatched key of a checkpoint)")
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


def _setup_runtime(device: Optional[str]) -> None:
    """Process-wide settings, made here and not at import: threads, device.

    The MKL variables were set by ``run_cli`` before Paddle loaded. No OMP_NUM_THREADS: the fast
    engine sets its own threads (403 vs 436 ms/frame in bench_fomm.py with OMP_NUM_THREADS=1)
    and Paddle prints a misleading data-parallel warning when it is above 1.
    """
    import paddle

    from ppgan_app.utils.device import set_device

    if device is not None:
        set_device(device)  # a GPU asked of a CPU build is an input error
    paddle.base.core.set_num_threads(os.cpu_count() or 1)  # dygraph uses one thread otherwise


def main(argv: Optional[List[str]] = None) -> int:
    """Run the demo; return the exit code (see :mod:`ppgan_app.errors`: 0 ok, 1 fault,
    2 bad input or options, 4 a batch where some portraits failed, 130 Ctrl-C, 143 SIGTERM)."""
    from ppgan_app.cli.common import console_logging, run_cli

    argv = console_logging(argv)
    return run_cli(lambda: _run(build_parser().parse_args(argv)), logger_name=logger.name)


def _run(args: argparse.Namespace) -> int:
    from ppgan_app.apps.expression_transfer.predictor import FirstOrderPredictor
    from ppgan_app.errors import EXIT_PARTIAL, InputError

    kwargs = predictor_kwargs(args)
    sources = getattr(args, "source_image", None)
    batch = sources is not None and (len(sources) > 1 or os.path.isdir(sources[0]))
    if batch and "filename" in kwargs:
        raise InputError("--filename names one result; with several portraits each result is "
                         "named after its portrait (<output>/<name>.mp4): drop --filename")
    _setup_runtime(kwargs.get("device"))  # before the predictor imports Paddle's MKL
    predictor = FirstOrderPredictor(**kwargs)  # checks every option before any work
    if batch:
        summary = predictor.run_batch(sources, getattr(args, "driving_video", None))
        print(summary.table())
        return 0 if summary.ok else EXIT_PARTIAL
    summary = predictor.run_with_summary(sources[0] if sources else None,
                                         getattr(args, "driving_video", None))
    if summary.still:
        print(f"wrote {summary.path}: the portrait with the still driving picture's expression "
              f"in {summary.seconds:.1f} s")
        return 0
    print(f"wrote {summary.path}: {summary.frames} frames at {summary.fps:g} fps in "
          f"{summary.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
