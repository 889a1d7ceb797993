"""What the benchmarks share: interleaved timing, random-weight FOMM networks, the machine line.

Each bench script imports it as a sibling module (``python bench/bench_x.py`` puts ``bench/`` on
the path). Timings on a shared machine are noisy: rows are timed interleaved, in alternating
order, so every row samples the same background load, and the tables report ratios besides
milliseconds.
"""
from __future__ import annotations

import os
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Dict, Generic, List, Mapping, Tuple, TypeVar

import numpy as np

T = TypeVar("T")


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def machine_line() -> str:
    """``"<CPU model>, <n> usable cores, load <1-min average>"`` for a table's header."""
    from ppgan_app.utils.cpu_env import cpuinfo_field

    load = f", load {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    return f"{cpuinfo_field('model name') or 'unknown CPU'}, {usable_cores()} usable cores{load}"


def time_rows(rows: Mapping[str, Callable[[], Any]], rounds: int, warmup: int = 1
              ) -> Dict[str, Tuple[float, float, float]]:
    """Time each row's call interleaved with the others.

    Every row is called ``warmup`` times first; then ``rounds`` rounds call each row once, the
    row order reversed every other round so no row always follows the same one.

    Returns:
        ``{name: (median wall ms, min wall ms, median process-CPU ms)}`` per call; process CPU
        sums all threads and is less sensitive to other processes.
    """
    for call in rows.values():
        for _ in range(warmup):
            call()
    wall: Dict[str, List[float]] = defaultdict(list)
    cpu: Dict[str, List[float]] = defaultdict(list)
    names = list(rows)
    for r in range(rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            start, start_cpu = time.perf_counter(), time.process_time()
            rows[name]()
            wall[name].append((time.perf_counter() - start) * 1000.0)
            cpu[name].append((time.process_time() - start_cpu) * 1000.0)
    return {name: (statistics.median(wall[name]), min(wall[name]), statistics.median(cpu[name]))
            for name in names}


def random_fomm(config: Any, seed: int = 0, bias_std: float = 0.05, inference: bool = False):
    """FOMM ``(kp_detector, generator)`` built from ``config`` with seeded random weights whose
    activations stay in a realistic range (see ``randomize_fomm_weights``)."""
    from ppgan_app.models.firstorder import (build_fomm_networks, fomm_model_config,
                                             randomize_fomm_weights)

    kp_detector, generator = build_fomm_networks(fomm_model_config(config), inference=inference)
    rng = np.random.default_rng(seed)
    randomize_fomm_weights(kp_detector, rng, bias_std=bias_std)
    randomize_fomm_weights(generator, rng, bias_std=bias_std)
    return kp_detector, generator


def save_random_fomm(config: Any, path: str | Path, seed: int = 0) -> str:
    """Write a random-weight checkpoint of ``config``'s networks (PaddleGAN's layout); its path."""
    import paddle

    kp_detector, generator = random_fomm(config, seed=seed)
    paddle.save({"kp_detector": kp_detector.state_dict(), "generator": generator.state_dict()},
                str(path))
    return str(path)


def torch_available() -> bool:
    """PyTorch rows are optional comparisons: run them only where torch is installed."""
    import importlib.util

    return importlib.util.find_spec("torch") is not None


class InlineStage(Generic[T]):
    """``OrderedStage``'s interface with the work done at once on the calling thread: the
    pipeline without its worker, for comparisons (frames and errors are the same)."""

    def __init__(self, fn: Callable[[T], None], max_pending: int = 2, name: str = "") -> None:
        self.fn = fn

    def __enter__(self) -> "InlineStage[T]":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def submit(self, item: T) -> None:
        self.fn(item)

    def close(self) -> None:
        return None
