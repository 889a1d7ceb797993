"""CPU runtime environment for entry points (no ``paddle`` import here).

The MKL bundled with Paddle dispatches to a slow code path on AMD CPUs unless
``MKL_DEBUG_CPU_TYPE=5`` is set before MKL is loaded, i.e. before ``import paddle``. Command
lines apply it through the process policy (:func:`ppgan_app.utils.process.prepare_process`),
benchmarks call :func:`apply_cpu_env` first thing; library code never does, so importing
``ppgan_app`` changes no process state.
"""
from __future__ import annotations

import logging
import os
import sys
import warnings
from typing import Mapping

LOG = logging.getLogger(__name__)


def cpuinfo_field(name: str) -> str:
    """The first value of ``name`` (e.g. ``"vendor_id"``, ``"model name"``) in /proc/cpuinfo,
    or "" where there is no such file (macOS, Windows)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.split(":", 1)[0].strip() == name:
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def recommended_cpu_env(threads: int | None = None) -> dict[str, str]:
    """Environment variables that help Paddle on CPU.

    Args:
        threads: CPU math threads (``None``: leave the thread variables alone).

    Returns:
        Variable name -> value: ``MKL_DEBUG_CPU_TYPE=5`` on AMD CPUs only (MKL's AVX2 path; on
        Intel it made DCGAN training 13-19% slower in ``bench/bench_train.py``) and, when
        ``threads`` is given, ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS``.
    """
    env = {"MKL_DEBUG_CPU_TYPE": "5"} if cpuinfo_field("vendor_id") == "AuthenticAMD" else {}
    if threads is not None:
        env.update({"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)})
    return env


def apply_cpu_env(threads: int | None = None, environ: Mapping[str, str] | None = None,
                  override: bool = False) -> dict[str, str]:
    """Set :func:`recommended_cpu_env` in ``os.environ`` (set values win unless ``override``).

    Call it from an entry point before ``paddle`` is imported; afterwards MKL has read its
    variables and a warning is logged.

    Args:
        threads: CPU math threads, see :func:`recommended_cpu_env`.
        environ: the variables to apply (default: :func:`recommended_cpu_env`).
        override: replace values that are already set.

    Returns:
        The variables that were actually set.
    """
    if "paddle" in sys.modules:
        LOG.warning("apply_cpu_env() called after paddle was imported; MKL may ignore it")
    wanted = dict(environ) if environ is not None else recommended_cpu_env(threads)
    applied = {}
    for key, value in wanted.items():
        if override or key not in os.environ:
            os.environ[key] = value
            applied[key] = value
    return applied


#: Warnings Paddle prints that concern nothing a user of the kit can act on.
PADDLE_NOISE = (
    "No ccache found",  # at import: about compiling C++ extensions, which the kit never does
    "When training, we now always track global mean and variance",  # every BatchNorm in training
    "Tensor do not have 'place' interface for pir graph mode",  # while exporting static graphs
)


def hide_paddle_noise() -> None:
    """Hide the Paddle warnings in :data:`PADDLE_NOISE` (for entry points only).

    They only confuse users of the command-line tools; call before ``paddle`` is imported.
    """
    for message in PADDLE_NOISE:
        warnings.filterwarnings("ignore", message=message, category=UserWarning)
