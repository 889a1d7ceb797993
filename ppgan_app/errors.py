"""The kit's error types: raised where a problem is known, turned into one line at the edge.

Every command-line front end maps these to a one-line message and an exit code in one place
(:func:`ppgan_app.cli.common.run_cli`); the library API (notebooks) raises them as they are.

Exit codes (documented in the README):

====  =====================================================================
0     success
1     a fault of the run or the machine (disk full, ffmpeg failed, ...)
2     bad input or options: a file, a flag, a config value the user must fix
3     training diverged (non-finite loss or parameters); good checkpoints kept
4     a batch of portraits finished but some of them failed (the others were written)
130   interrupted by SIGINT (Ctrl-C); 143 by SIGTERM
====  =====================================================================
"""
from __future__ import annotations

from typing import List, Optional

EXIT_OK = 0
EXIT_FAULT = 1
EXIT_USAGE = 2
EXIT_DIVERGED = 3
EXIT_PARTIAL = 4
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


class KitError(Exception):
    """Base of the kit's user-facing errors. The message is one line: the cause and the fix."""

    exit_code = EXIT_FAULT


class InputError(KitError, ValueError):
    """A problem with the inputs or options that the user must fix (exit code 2)."""

    exit_code = EXIT_USAGE


class ConfigError(InputError):
    """A config file, override or config value that the user must fix."""


class CheckpointError(InputError):
    """A checkpoint or weight file that cannot be read or does not fit the model."""


class CheckpointMismatchError(CheckpointError):
    """Weights that do not fit the network: the message gives the count and the first
    offending key; ``details`` lists them all (``"[<net>: ]<missing|unexpected|mis-shaped> <key>"``)."""

    def __init__(self, message: str, details: Optional[List[str]] = None) -> None:
        super().__init__(message)
        self.details = list(details or [])


class WeightsUnavailableError(InputError):
    """Weights that are neither cached nor downloadable; the message says where to put them."""


class OutputError(KitError):
    """Writing a result failed (disk full, permissions): the message names the path and the cause."""


class ExternalToolError(KitError):
    """An external program (ffmpeg) failed; the message holds its last line of output."""


class TrainingDivergedError(KitError):
    """Training produced a non-finite loss or parameters; the last good checkpoint is kept."""

    exit_code = EXIT_DIVERGED


class Terminated(BaseException):
    """SIGTERM arrived: raised in the main thread so ``finally`` blocks clean up (exit 143).

    A ``BaseException`` like ``KeyboardInterrupt``, so ``except Exception`` does not swallow it.
    """


def describe_os_error(err: OSError, path: object = None, action: str = "write") -> str:
    """One line for an ``OSError`` met while working on ``path``: cause first, then the path.

    ``ENOSPC`` reads "no space left on device at <path>", whatever the library's wording.
    """
    import errno

    where = path if path is not None else (err.filename or "?")
    if err.errno == errno.ENOSPC:
        return f"no space left on device at {where}; free some space and run again"
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        reason = err.strerror or "permission denied"
        return f"cannot {action} {where}: {reason}; choose a folder you can write to"
    reason = err.strerror or str(err)
    return f"cannot {action} {where}: {reason}"
