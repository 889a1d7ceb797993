"""Command line of live mode: ``applications/tools/first-order-live.py`` (``ppgan-live``).

    ppgan-live --source_image me.jpg --camera 0 --window
    ppgan-live --source_image me.jpg --camera clip.mp4 --output live.mp4

Flags are built from :class:`ppgan_app.apps.live.options.LiveOptions` (help, types and
defaults live there). Prints sustained fps and capture-to-output latency every few seconds and
at the end. Exit codes: 0 done, 1 a fault, 2 bad input or options, 130 Ctrl-C, 143 SIGTERM.
"""
from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence

from ppgan_app.utils.options import Options, option

logger = logging.getLogger("ppgan_app.live")


@dataclass(frozen=True)
class LiveConsoleFlags(Options):
    """Live mode's flags that are not pipeline options."""

    quiet: bool = option(False, "warnings and the final line only")
    verbose: bool = option(False, "debug logging")


@dataclass(frozen=True)
class LiveRun:
    """A parsed live command line; the process policy reads its threads (the pipeline runs on
    the CPU)."""

    options: Any  # LiveOptions
    device: Optional[str] = "cpu"

    @property
    def threads(self) -> Optional[int]:
        return self.options.threads


def build_parser():
    """Live mode's flags: one per :class:`LiveOptions` and :class:`LiveConsoleFlags` field."""
    from ppgan_app.apps.live.options import LiveOptions
    from ppgan_app.cli.options import add_options, build_parser as from_options

    p = from_options(LiveOptions, "first-order-live.py",
                     "Animate a portrait live with the face in front of a camera (or a video "
                     "played as one): First Order Motion Model, mobile model by default.",
                     suppress=True)
    return add_options(p, LiveConsoleFlags, suppress=True)


def parse(argv: Sequence[str]) -> LiveRun:
    from ppgan_app.apps.live.options import LiveOptions
    from ppgan_app.cli.options import options_from

    return LiveRun(options_from(LiveOptions, build_parser().parse_args(argv)))


def main(argv: Optional[List[str]] = None) -> int:
    """Run live mode; return the exit code."""
    from ppgan_app.cli.common import run_main

    return run_main(parse, _run, argv, logger.name, console=True)


def _run(run: LiveRun) -> int:
    from ppgan_app.apps.live.session import run_live

    report = run_live(run.options)
    print(f"live: {report.line()}" + (f"; wrote {report.output}" if report.output else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
