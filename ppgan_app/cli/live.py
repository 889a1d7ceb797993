"""Command line of live mode: ``applications/tools/first-order-live.py`` (``ppgan-live``).

    ppgan-live --source_image me.jpg --camera 0 --window
    ppgan-live --source_image me.jpg --camera clip.mp4 --output live.mp4

Flags are built from :class:`ppgan_app.apps.live.options.LiveOptions` (help, types and
defaults live there). Prints sustained fps and capture-to-output latency every few seconds and
at the end. Exit codes: 0 done, 1 a fault, 2 bad input or options, 130 Ctrl-C, 143 SIGTERM.
"""
from __future__ import annotations

import argparse
import logging
import sys
from typing import List, Optional

logger = logging.getLogger("ppgan_app.live")

_CLI_ONLY = ("quiet", "verbose")


def build_parser() -> argparse.ArgumentParser:
    """Live mode's flags (unset options are absent from the namespace)."""
    from ppgan_app.apps.live.options import live_fields
    from ppgan_app.cli.first_order import _add_option, _Parser

    p = _Parser(prog="first-order-live.py", argument_default=argparse.SUPPRESS,
                description="Animate a portrait live with the face in front of a camera (or a "
                            "video played as one): First Order Motion Model, mobile model by "
                            "default.")
    for f in live_fields():
        _add_option(p, f)
    p.add_argument("--quiet", action="store_true", help="warnings and the final line only")
    p.add_argument("--verbose", action="store_true", help="debug logging")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    """Run live mode; return the exit code."""
    from ppgan_app.cli.common import console_logging, run_cli

    argv = console_logging(argv)
    return run_cli(lambda: _run(build_parser().parse_args(argv)), logger_name=logger.name)


def _run(args: argparse.Namespace) -> int:
    from ppgan_app.apps.live.options import LiveOptions
    from ppgan_app.apps.live.session import run_live
    from ppgan_app.cli.first_order import _setup_runtime

    options = LiveOptions.from_kwargs(**{k: v for k, v in vars(args).items()
                                         if k not in _CLI_ONLY})
    _setup_runtime("cpu")
    report = run_live(options)
    print(f"live: {report.line()}" + (f"; wrote {report.output}" if report.output else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
