"""What the trainer's divergence checks cost per iteration, on the CPU.

Builds the engine's ``Trainer`` for a shipped GAN config on random idx data (written to a temp
folder) and times ``Trainer._step`` (one iteration: step, scheduler, checks) with
``nan_policy: stop`` (a loss check per iteration) and ``nan_policy: skip`` (also a snapshot of
weights and optimizer state, and a weight scan, per iteration), round-robin so background load
hits both alike, plus one ``check_parameters`` call (run at each log line and checkpoint).

    python bench/bench_divergence.py                       # dcgan_fashion_mnist, 20 iterations
    python bench/bench_divergence.py --config configs/dcgan_mnist.yaml --iters 10 --rounds 3
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def _data(folder: Path, n: int) -> Path:
    from ppgan_app.datasets.mnist import write_idx

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.RandomState(0)
    for prefix in ("train", "t10k"):
        write_idx(str(folder / f"{prefix}-images-idx3-ubyte"), rng.randint(0, 256, (n, 28, 28)).astype(np.uint8))
        write_idx(str(folder / f"{prefix}-labels-idx1-ubyte"), (np.arange(n) % 10).astype(np.uint8))
    return folder


def _trainer(config: Path, data: Path, out: Path, policy: str):
    from ppgan_app.engine import Trainer
    from ppgan_app.utils.config import load_config

    cfg = load_config(config, [f"dataset.train.data_root={data}", "dataset.test=null", "validate=null",
                               f"output_dir={out}", "seed=1", f"nan_policy={policy}",
                               "enable_visualdl=false"])
    return Trainer(cfg, name=policy)


def _time_steps(trainer, batches: List, iters: int) -> float:
    """Median milliseconds of one ``_step``."""
    times = []
    for i in range(iters):
        start = time.perf_counter()
        trainer._step(batches[i % len(batches)])
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=str(REPO / "configs" / "dcgan_fashion_mnist.yaml"))
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    import paddle

    paddle.set_device("cpu")
    paddle.base.core.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        data = _data(Path(tmp) / "data", 512)
        trainers = {p: _trainer(Path(args.config), data, Path(tmp) / "out", p) for p in ("stop", "skip")}
        loader, _ = trainers["stop"]._train_data
        batches = [batch for _, batch in zip(range(4), loader)]
        batch_size = int(batches[0]["img"].shape[0])
        results: Dict[str, List[float]] = {p: [] for p in trainers}
        for _ in range(args.rounds):
            for policy, trainer in trainers.items():
                _time_steps(trainer, batches, 2)  # warm-up
                results[policy].append(_time_steps(trainer, batches, args.iters))
        scan = []
        for _ in range(5):
            start = time.perf_counter()
            trainers["stop"].check_parameters()
            scan.append((time.perf_counter() - start) * 1e3)
        params = sum(int(np.prod(p.shape)) for net in trainers["stop"].model.nets.values()
                     for p in net.parameters())
        for trainer in trainers.values():
            trainer.close()
    stop = statistics.median(results["stop"])
    print(f"{Path(args.config).name}, batch {batch_size}, {params / 1e6:.2f} M parameters, "
          f"{args.threads} thread(s), median of {args.rounds} rounds x {args.iters} iterations")
    print("| nan_policy | ms / iteration | vs stop |")
    print("|---|---|---|")
    for policy in ("stop", "skip"):
        value = statistics.median(results[policy])
        print(f"| {policy} | {value:.1f} | {value / stop:.2f}x |")
    print(f"| check_parameters (one call) | {statistics.median(scan):.2f} | |")


if __name__ == "__main__":
    main()
