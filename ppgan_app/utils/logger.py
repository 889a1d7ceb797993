"""Logging setup for entry points: one console handler (tqdm-safe) and a file in the run folder."""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Optional

from tqdm import tqdm

from ppgan_app.errors import describe_os_error

_FORMAT = "[%(asctime)s] %(levelname)s %(name)s: %(message)s"
_DATEFMT = "%Y-%m-%d %H:%M:%S"


class TqdmHandler(logging.StreamHandler):
    """Writes records through ``tqdm.write`` so that log lines do not break a progress bar.

    The stream is looked up at each record (``sys.stderr`` now, not when the handler was made),
    so a replaced stderr (a notebook, a test's capture) never receives writes after it closed.
    """

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


class RunLogFileHandler(logging.FileHandler):
    """``train.log``: a failed write (disk full) is reported once, on the console, as one line;
    the file then stops receiving records, and training goes on (the checkpoint writer has its
    own checks). Python's default prints a traceback per record instead."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        if self.stream is None:
            return
        reason = sys.exc_info()[1]
        try:
            self.stream.close()
        except OSError:
            pass
        self.stream = None
        self.emit = lambda record: None  # this file is given up for the rest of the run
        cause = describe_os_error(reason, self.baseFilename) if isinstance(reason, OSError) \
            else f"cannot write {self.baseFilename}: {reason}"
        logging.getLogger(__name__).warning("log file disabled: %s", cause)


def setup_logger(name: str = "ppgan_app", rank: int = 0, level: int = logging.INFO) -> logging.Logger:
    """Configure the package logger for a process; ranks other than 0 only show warnings."""
    logger = logging.getLogger(name)
    logger.setLevel(level if rank == 0 else logging.WARNING)
    logger.propagate = False
    if not any(isinstance(h, TqdmHandler) for h in logger.handlers):
        handler = TqdmHandler()
        handler.setFormatter(logging.Formatter(_FORMAT, _DATEFMT))
        logger.addHandler(handler)
    return logger


def add_file_handler(log_file: str | Path, name: str = "ppgan_app") -> Optional[logging.Handler]:
    """Also write the package's log records to ``log_file``; returns the handler (to remove later)."""
    logger = logging.getLogger(name)
    Path(log_file).parent.mkdir(parents=True, exist_ok=True)
    handler = RunLogFileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter(_FORMAT, _DATEFMT))
    logger.addHandler(handler)
    return handler
