"""The one place where a front end turns errors into one line and an exit code.

Every command line has the same shape::

    def main(argv=None) -> int:
        return run_main(parse, body, argv, logger_name="ppgan_app.cli.tool")

``parse(argv)`` returns the checked options (a dataclass built with :mod:`ppgan_app.cli.options`);
:func:`run_main` then runs ``body(options)`` inside :func:`run_cli`, after the process policy
(:mod:`ppgan_app.utils.process`: CPU environment before MKL loads, Paddle's build warnings
hidden, Paddle's C++ signal handlers replaced so SIGTERM can clean up, then device and threads).

Kit errors (:mod:`ppgan_app.errors`) print ``error: <message>`` and exit with their code;
Ctrl-C exits 130 and SIGTERM 143, after ``finally`` blocks have removed temp files. Anything
else is a bug: one line with the exception, the traceback only at ``--verbose``/debug level.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import sys
from typing import Callable, Optional, Sequence, TypeVar

from ppgan_app.errors import (EXIT_FAULT, EXIT_SIGINT, EXIT_SIGTERM, KitError, Terminated,
                              describe_os_error)
from ppgan_app.utils.signals import terminate_raises

T = TypeVar("T")


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


def run_main(parse: Callable[[list], T], body: Callable[[T], int],
             argv: Optional[Sequence[str]], logger_name: str, console: bool = False) -> int:
    """The whole ``main`` of a command line: parse, log, apply the process policy, run.

    Args:
        parse: ``argv list -> options`` (bad flags raise :class:`~ppgan_app.errors.InputError`,
            reported before anything else happens).
        body: the work, given the options (their ``threads`` resolved by the policy).
        argv: the arguments (default ``sys.argv[1:]``).
        logger_name: where details of unexpected errors are logged.
        console: log plain messages (``--verbose``/``--quiet`` levels) instead of the
            timestamped format of the tools.
    """
    from ppgan_app.utils.process import prepare_process

    args = sys.argv[1:] if argv is None else list(argv)
    prepare_process()  # before a check (--device) may import Paddle and load its MKL
    try:
        options = parse(args)
    except KitError as err:
        _report(f"error: {one_line(err)}")
        return err.exit_code
    if console:
        console_logging(args)
    else:
        from ppgan_app.utils.logger import setup_logger
        setup_logger(rank=int(os.environ.get("PADDLE_TRAINER_ID", "0") or 0))
    return run_cli(lambda: body(apply_policy(options)), logger_name=logger_name)


def apply_policy(options: T) -> T:
    """Apply the process policy to the ``threads``/``device`` an options object names; return
    the options with ``threads`` resolved (the count actually used)."""
    from ppgan_app.utils.process import apply_process_policy

    policy = apply_process_policy(getattr(options, "threads", None),
                                  getattr(options, "device", None))
    if dataclasses.is_dataclass(options) and any(f.name == "threads"
                                                 for f in dataclasses.fields(options)):
        options = dataclasses.replace(options, threads=policy.threads)
    return options


def _prepare_paddle() -> None:
    """CPU variables before MKL loads, Paddle's noise hidden, our signal handlers over Paddle's."""
    from ppgan_app.utils.process import prepare_process
    from ppgan_app.utils.signals import release_paddle_signals

    prepare_process()
    release_paddle_signals()


def _report(line: str) -> None:
    try:
        print(line, file=sys.stderr, flush=True)
    except OSError:  # stderr closed or a broken pipe: nothing more can be said
        pass
