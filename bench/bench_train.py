"""Benchmark DCGAN training steps (64x64, batch 64, configs/dcgan_mnist.yaml nets) on the CPU.

Each variant runs in its own subprocess, because ``MKL_DEBUG_CPU_TYPE`` only acts before
Paddle's MKL loads: CPU threads 1 or 2 (``paddle.base.core.set_num_threads``) x
``MKL_DEBUG_CPU_TYPE`` unset or 5. Variants are run round-robin (``--rounds``) and each
variant's median round is reported, with ratios to the first row, so background load hits all
variants alike. One iteration = the engine's per-iteration work without data loading
(``setup_input`` + ``train_iter``: one D step and one G step + LR scheduler step) on a
synthetic batch. Peak RSS is the worker process's maximum resident set size.

    python bench/bench_train.py                   # 2 rounds x 3 iterations per variant
    python bench/bench_train.py --iters 8 --rounds 3
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

from ppgan_app.utils.cpu_env import cpuinfo_field

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "dcgan_mnist.yaml"
VARIANTS = [  # (label, threads, MKL_DEBUG_CPU_TYPE)
    ("1 thread", 1, None),
    ("2 threads", 2, None),
    ("1 thread, MKL_DEBUG_CPU_TYPE=5", 1, "5"),
    ("2 threads, MKL_DEBUG_CPU_TYPE=5", 2, "5"),
]


def worker(threads: int, iters: int, warmup: int, batch_size: int) -> Dict[str, float]:
    """Time ``iters`` training iterations in this process; return the figures."""
    import paddle

    from ppgan_app.registries import MODELS
    from ppgan_app.utils.config import load_config
    from ppgan_app.utils.registry import build_from_config

    paddle.set_device("cpu")
    paddle.base.core.set_num_threads(threads)
    paddle.seed(0)
    cfg = load_config(CONFIG)
    model = build_from_config(cfg["model"], MODELS)
    model.setup_optimizers(cfg["lr_scheduler"], cfg["optimizer"])
    size = cfg["model"]["generator"]["img_size"]
    batch = {"img": paddle.uniform([batch_size, 1, size, size], min=-1.0, max=1.0)}
    start = 0.0
    for i in range(warmup + iters):
        if i == warmup:
            start = time.perf_counter()
        model.current_iter = i
        model.setup_input(batch)
        model.train_iter(model.optimizers)
        for scheduler in model.lr_schedulers.values():
            scheduler.step()
    seconds = time.perf_counter() - start
    return {"it_s": iters / seconds, "img_s": iters * batch_size / seconds,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_variant(threads: int, mkl: str | None, args: argparse.Namespace) -> Dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k != "MKL_DEBUG_CPU_TYPE"}
    if mkl is not None:
        env["MKL_DEBUG_CPU_TYPE"] = mkl
    cmd = [sys.executable, __file__, "--worker", "--threads", str(threads), "--iters", str(args.iters),
           "--warmup", str(args.warmup), "--batch-size", str(args.batch_size)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"worker failed ({' '.join(cmd)}):\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iters", type=int, default=3, help="timed iterations per round")
    parser.add_argument("--warmup", type=int, default=1, help="untimed iterations first")
    parser.add_argument("--rounds", type=int, default=2, help="round-robin repetitions")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.threads, args.iters, args.warmup, args.batch_size)))
        return 0
    load_before = os.getloadavg()[0]
    results: Dict[str, List[Dict[str, float]]] = {label: [] for label, _, _ in VARIANTS}
    for _ in range(args.rounds):
        for label, threads, mkl in VARIANTS:
            results[label].append(run_variant(threads, mkl, args))
    print(f"DCGAN {CONFIG.name} nets, batch {args.batch_size}, {args.iters} iterations x "
          f"{args.rounds} rounds (median), CPU: {_cpu_name()}; load average "
          f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    print(f"{'variant':34} {'it/s':>7} {'img/s':>7} {'ratio':>6} {'peak RSS MB':>12}")
    base = None
    for label, _, _ in VARIANTS:
        it_s = statistics.median(r["it_s"] for r in results[label])
        rss = max(r["peak_rss_mb"] for r in results[label])
        base = base or it_s
        print(f"{label:34} {it_s:7.3f} {it_s * args.batch_size:7.1f} {it_s / base:6.2f} {rss:12.0f}")
    return 0


def _cpu_name() -> str:
    return f"{cpuinfo_field('model name') or 'unknown'}, {os.cpu_count()} cores"


if __name__ == "__main__":
    sys.exit(main())
