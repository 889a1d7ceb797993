"""Benchmark GAN training steps (DCGAN, batch 64) on the CPU: ours beside PyTorch eager.

Each row runs in its own subprocess (thread settings and ``MKL_DEBUG_CPU_TYPE`` act only
before the math libraries load). Rows: ours (Paddle dygraph, the config's model) at 1 and 2
threads (``paddle.base.core.set_num_threads``), and, when ``torch`` is importable, the same
nets written in PyTorch (same layer shapes, Adam, non-saturating BCE loss) in eager mode at 1
and 2 threads (``torch.set_num_threads``); ``--paddle-bias`` adds our rows with the nets
built on Paddle's own conv layers (the A/B of ``ppgan_app.models.layers``); ``--mkl`` adds
our rows with ``MKL_DEBUG_CPU_TYPE=5``. PyTorch is an optional comparison, never a dependency of the kit.

One iteration = one D step (real + detached fake) and one G step on a synthetic batch, no data
loading (ours: ``setup_input`` + ``train_iter`` + LR scheduler steps). Rows run round-robin
(``--rounds``), in reversed order every other round, and each row reports its median round:
img/s from wall time and CPU ms per iteration (user + system of the worker; on a loaded
machine wall time also counts waiting for a core, CPU time much less so).

    python bench/bench_train.py                              # dcgan_fashion_mnist.yaml nets
    python bench/bench_train.py --config configs/dcgan_mnist.yaml --iters 8 --rounds 3
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple


from harness import machine_line

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "dcgan_fashion_mnist.yaml"
Row = Tuple[str, str, int, Optional[str]]          # (label, framework, threads, MKL type)


def rows(with_torch: bool, mkl: bool, paddle_bias: bool = False) -> List[Row]:
    out: List[Row] = [("ours, 1 thread", "paddle", 1, None), ("ours, 2 threads", "paddle", 2, None)]
    if paddle_bias:
        out += [("ours, Paddle's conv bias add, 1 thread", "paddle-bias", 1, None),
                ("ours, Paddle's conv bias add, 2 threads", "paddle-bias", 2, None)]
    if mkl:
        out += [("ours, 1 thread, MKL_DEBUG_CPU_TYPE=5", "paddle", 1, "5"),
                ("ours, 2 threads, MKL_DEBUG_CPU_TYPE=5", "paddle", 2, "5")]
    if with_torch:
        out += [("PyTorch eager, 1 thread", "torch", 1, None),
                ("PyTorch eager, 2 threads", "torch", 2, None)]
    return out


# --- the two frameworks' training steps ----------------------------------------------------
def paddle_step(config: Path, threads: int, batch_size: int,
                paddle_bias: bool = False) -> Callable[[], None]:
    """Our training iteration; ``paddle_bias``: the DCGAN nets built with Paddle's own conv
    layers (bias added as ``[1, C, 1, 1]``) instead of ``ppgan_app.models.layers``."""
    import paddle
    from paddle import nn

    from ppgan_app.registries import MODELS
    from ppgan_app.utils.config import load_config
    from ppgan_app.utils.registry import build_from_config

    paddle.set_device("cpu")
    paddle.base.core.set_num_threads(threads)
    paddle.seed(0)
    cfg = load_config(config)
    if paddle_bias:
        from ppgan_app.models.discriminators import dcgan as dcgan_d
        from ppgan_app.models.generators import dcgan as dcgan_g

        dcgan_d.Conv2D, dcgan_g.Conv2DTranspose = nn.Conv2D, nn.Conv2DTranspose
    model = build_from_config(cfg["model"], MODELS)
    model.setup_optimizers(cfg["lr_scheduler"], cfg["optimizer"])
    size = cfg["model"]["generator"]["img_size"]
    channels = cfg["model"]["generator"].get("output_nc", 1)
    batch = {"img": paddle.uniform([batch_size, channels, size, size], min=-1.0, max=1.0)}
    counter = [0]

    def step() -> None:
        model.current_iter = counter[0]
        counter[0] += 1
        model.setup_input(batch)
        model.train_iter(model.optimizers)
        for scheduler in model.lr_schedulers.values():
            scheduler.step()

    return step


def torch_step(config: Path, threads: int, batch_size: int) -> Callable[[], None]:
    """The config's DCGAN nets written in PyTorch (same shapes), one D and one G Adam step."""
    import torch
    from torch import nn

    from ppgan_app.models.generators.dcgan import resolution_plan
    from ppgan_app.utils.config import load_config

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cfg = load_config(config)["model"]
    gen, disc = cfg["generator"], cfg["discriminator"]
    nz, ngf, ndf = gen.get("nz", 100), gen.get("ngf", 64), disc.get("ndf", 64)
    channels, size = gen.get("output_nc", 1), gen["img_size"]
    base, steps = resolution_plan(size)
    width = ngf * 2 ** (steps - 1)
    g_layers = [nn.ConvTranspose2d(nz, width, base, 1, 0, bias=False), nn.BatchNorm2d(width),
                nn.ReLU()]
    for _ in range(steps - 1):
        g_layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                     nn.BatchNorm2d(width // 2), nn.ReLU()]
        width //= 2
    generator = nn.Sequential(*g_layers, nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh())
    width = ndf
    d_layers = [nn.Conv2d(channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2)]
    for _ in range(steps - 1):
        d_layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width * 2),
                     nn.LeakyReLU(0.2)]
        width *= 2
    discriminator = nn.Sequential(*d_layers, nn.Conv2d(width, 1, base, 1, 0))
    opt_g = torch.optim.Adam(generator.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), 2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    real = torch.rand(batch_size, channels, size, size) * 2 - 1
    ones, zeros = torch.ones(batch_size), torch.zeros(batch_size)

    def step() -> None:
        fake = generator(torch.randn(batch_size, nz, 1, 1))
        opt_d.zero_grad()
        loss_d = (bce(discriminator(real).view(-1), ones)
                  + bce(discriminator(fake.detach()).view(-1), zeros))
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        bce(discriminator(fake).view(-1), ones).backward()
        opt_g.step()

    return step


def worker(framework: str, config: Path, threads: int, iters: int, warmup: int,
           batch_size: int) -> Dict[str, float]:
    """Time ``iters`` training iterations in this process; return the figures."""
    if framework == "torch":
        step = torch_step(config, threads, batch_size)
    else:
        step = paddle_step(config, threads, batch_size, paddle_bias=framework == "paddle-bias")
    for _ in range(warmup):
        step()
    start, start_cpu = time.perf_counter(), time.process_time()
    for _ in range(iters):
        step()
    seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    return {"img_s": iters * batch_size / seconds, "cpu_ms": cpu / iters * 1000,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_row(row: Row, args: argparse.Namespace) -> Dict[str, float]:
    _, framework, threads, mkl = row
    env = {k: v for k, v in os.environ.items() if k != "MKL_DEBUG_CPU_TYPE"}
    if mkl is not None:
        env["MKL_DEBUG_CPU_TYPE"] = mkl
    cmd = [sys.executable, __file__, "--worker", framework, "--threads", str(threads),
           "--iters", str(args.iters), "--warmup", str(args.warmup),
           "--batch-size", str(args.batch_size), "--config", str(args.config)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"worker failed ({' '.join(cmd)}):\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=CONFIG, help="a DCGAN config")
    parser.add_argument("--iters", type=int, default=5, help="timed iterations per round")
    parser.add_argument("--warmup", type=int, default=2, help="untimed iterations first")
    parser.add_argument("--rounds", type=int, default=2, help="round-robin repetitions")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--mkl", action="store_true", help="add MKL_DEBUG_CPU_TYPE=5 rows")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch rows")
    parser.add_argument("--paddle-bias", action="store_true",
                        help="add rows with Paddle's own conv bias add (A/B of models.layers)")
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--worker", choices=("paddle", "paddle-bias", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.config, args.threads, args.iters, args.warmup,
                                args.batch_size)))
        return 0
    with_torch = not args.no_torch and importlib.util.find_spec("torch") is not None
    if not with_torch and not args.no_torch:
        print("PyTorch rows skipped: torch is not importable")
    table = rows(with_torch, args.mkl, args.paddle_bias)
    load_before = os.getloadavg()[0]
    results: Dict[str, List[Dict[str, float]]] = {row[0]: [] for row in table}
    for r in range(args.rounds):
        for row in (table if r % 2 == 0 else table[::-1]):
            results[row[0]].append(run_row(row, args))
    print(f"DCGAN {args.config.name} nets, batch {args.batch_size}, {args.iters} iterations x "
          f"{args.rounds} rounds (median), CPU: {machine_line()}; load average "
          f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    print(f"{'row':40} {'img/s':>7} {'x ours 1t':>10} {'CPU ms/it':>10} {'peak RSS MB':>12}")
    base = None
    for label, *_ in table:
        img_s = statistics.median(r["img_s"] for r in results[label])
        cpu_ms = statistics.median(r["cpu_ms"] for r in results[label])
        rss = max(r["peak_rss_mb"] for r in results[label])
        base = base or img_s
        print(f"{label:40} {img_s:7.1f} {img_s / base:10.2f} {cpu_ms:10.1f} {rss:12.0f}")
    return 0




if __name__ == "__main__":
    sys.exit(main())
