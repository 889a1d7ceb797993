"""The one place where a front end turns errors into one line and an exit code.

    def main(argv=None) -> int:
        args = build_parser().parse_args(argv)
        return run_cli(lambda: _run(args), logger_name="ppgan_app.first_order")

:func:`run_cli` also prepares the process for Paddle (CPU environment before MKL loads, Paddle's
build warning hidden, Paddle's C++ signal handlers replaced so SIGTERM can clean up).

Kit errors (:mod:`ppgan_app.errors`) print ``error: <message>`` and exit with their code;
Ctrl-C exits 130 and SIGTERM 143, after ``finally`` blocks have removed temp files. Anything
else is a bug: one line with the exception, the traceback only at ``--verbose``/debug level.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Callable, Optional, Sequence

from ppgan_app.errors import (EXIT_FAULT, EXIT_SIGINT, EXIT_SIGTERM, KitError, Terminated,
                              describe_os_error)
from ppgan_app.utils.signals import terminate_raises


def one_line(text: object) -> str:
    """Collapse a message to one line (user-facing errors are never multi-line)."""
    return " ".join(str(text).split())


def run_cli(body: Callable[[], int], logger_name: str = "ppgan_app") -> int:
    """Run ``body`` with SIGTERM raising; map every failure to one stderr line and a code."""
    log = logging.getLogger(logger_name)
    try:
        with terminate_raises():
            _prepare_paddle()
            return body()
    except KitError as err:
        _report(f"error: {one_line(err)}")
        log.debug("details", exc_info=True)
        return err.exit_code
    except KeyboardInterrupt:
        _report("interrupted (Ctrl-C): partial outputs removed")
        return EXIT_SIGINT
    except Terminated:
        _report("terminated (SIGTERM): partial outputs removed")
        return EXIT_SIGTERM
    except OSError as err:
        _report(f"error: {describe_os_error(err)}")
        log.debug("details", exc_info=True)
        return EXIT_FAULT
    except Exception as err:  # noqa: BLE001 - the last line of defence: no traceback for users
        _report(f"internal error: {type(err).__name__}: {one_line(err)} "
                "(please report it; set PPGAN_APP_DEBUG=1 for the traceback)")
        if os.environ.get("PPGAN_APP_DEBUG"):
            raise
        return EXIT_FAULT


def console_logging(argv: Optional[Sequence[str]]) -> list:
    """Log to the console at the level ``--verbose``/``--quiet`` ask for; return the argv list."""
    args = sys.argv[1:] if argv is None else list(argv)
    level = (logging.DEBUG if "--verbose" in args else
             logging.WARNING if "--quiet" in args else logging.INFO)
    logging.basicConfig(level=level, format="%(message)s")
    return args


def parse_and_run(parser: argparse.ArgumentParser, body: Callable[[argparse.Namespace], int],
                  argv: Optional[Sequence[str]], logger_name: str) -> int:
    """The whole ``main`` of a simple tool: parse ``argv``, set up logging, :func:`run_cli`."""
    from ppgan_app.utils.logger import setup_logger

    args = parser.parse_args(argv)
    setup_logger()
    return run_cli(lambda: body(args), logger_name=logger_name)


def _prepare_paddle() -> None:
    """CPU variables before MKL loads, then Paddle, then our signal handlers over Paddle's."""
    from ppgan_app.utils.cpu_env import apply_cpu_env, hide_paddle_noise
    from ppgan_app.utils.signals import release_paddle_signals

    if "paddle" not in sys.modules:
        apply_cpu_env()
        hide_paddle_noise()
    release_paddle_signals()


def _report(line: str) -> None:
    try:
        print(line, file=sys.stderr, flush=True)
    except OSError:  # stderr closed or a broken pipe: nothing more can be said
        pass
