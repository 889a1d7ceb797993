"""Logging setup for entry points: one console handler (tqdm-safe) and a file in the run folder."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

from tqdm import tqdm

_FORMAT = "[%(asctime)s] %(levelname)s %(name)s: %(message)s"
_DATEFMT = "%Y-%m-%d %H:%M:%S"


class TqdmHandler(logging.StreamHandler):
    """Writes records through ``tqdm.write`` so that log lines do not break a progress bar."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=self.stream)
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


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
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter(_FORMAT, _DATEFMT))
    logger.addHandler(handler)
    return handler
