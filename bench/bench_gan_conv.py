"""Ways to run the DCGAN convolutions in Paddle on the CPU, beside PyTorch eager.

Times forward + backward (input and weight gradients) of two layers of the
``dcgan_fashion_mnist.yaml`` nets at batch 64: the discriminator's second conv (32 -> 64
channels, 4x4 stride 2, 16x16 -> 8x8) and the generator's second transposed conv (128 -> 64,
4x4 stride 2, 4x4 -> 8x8). Variants, each in its own subprocess (flags act at start-up):

* ``dygraph``: what training runs today (NCHW, eager);
* ``dygraph+onednn``: the same with ``FLAGS_use_onednn=1`` / ``FLAGS_use_mkldnn=1`` set in the
  environment (does dygraph then dispatch conv2d to oneDNN?);
* ``dygraph NHWC``: channels-last ``data_format``;
* ``to_static``: each layer through ``paddle.jit.to_static`` (static-graph executor);
* ``to_static+onednn``: the same with ``FLAGS_use_onednn=1``;
* ``biased, Paddle's add`` / ``biased, models.layers``: both layers with a bias, added by
  Paddle's ``nn.Conv2D`` / ``nn.Conv2DTranspose`` (a ``[1, C, 1, 1]`` broadcast) or by
  ``ppgan_app.models.layers`` (``[C, 1, 1]``);
* ``torch`` / ``torch channels_last``: PyTorch eager, when ``torch`` is importable (an optional
  comparison, never a dependency of the kit).

Rows run round-robin, reversed every other round; each row reports its median round: wall ms
and CPU ms (user + system of the worker) per forward + backward of both layers. A worker that
crashes is reported with its exit status.

    python bench/bench_gan_conv.py --rounds 3 --threads 1
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Callable, Dict, List, Tuple

BATCH = 64
# (kind, in channels, out channels, input size): D's second conv and G's second deconv.
LAYERS = (("conv", 32, 64, 16), ("deconv", 128, 64, 4))
VARIANTS: Dict[str, Tuple[str, Dict[str, str]]] = {
    "dygraph": ("paddle", {}),
    "dygraph+onednn": ("paddle", {"FLAGS_use_onednn": "1", "FLAGS_use_mkldnn": "1"}),
    "dygraph NHWC": ("paddle-nhwc", {}),
    "to_static": ("paddle-static", {}),
    "to_static+onednn": ("paddle-static", {"FLAGS_use_onednn": "1", "FLAGS_use_mkldnn": "1"}),
    "biased, Paddle's add": ("paddle-biased", {}),
    "biased, models.layers": ("paddle-biased-layers", {}),
    "torch": ("torch", {}),
    "torch channels_last": ("torch-cl", {}),
}


def paddle_work(kind: str, threads: int) -> Callable[[], None]:
    """Forward + backward of both layers in Paddle (``kind``: a paddle row of VARIANTS)."""
    import paddle

    from ppgan_app.models import layers

    paddle.set_device("cpu")
    paddle.base.core.set_num_threads(threads)
    paddle.seed(0)
    fmt = "NHWC" if kind == "paddle-nhwc" else "NCHW"
    pairs = []
    for layer_kind, c_in, c_out, size in LAYERS:
        ours = kind == "paddle-biased-layers"
        if layer_kind == "conv":
            cls = layers.Conv2D if ours else paddle.nn.Conv2D
        else:
            cls = layers.Conv2DTranspose if ours else paddle.nn.Conv2DTranspose
        biased = kind.startswith("paddle-biased")
        layer = cls(c_in, c_out, 4, 2, 1, bias_attr=None if biased else False, data_format=fmt)
        shape = [BATCH, c_in, size, size] if fmt == "NCHW" else [BATCH, size, size, c_in]
        x = paddle.randn(shape)
        x.stop_gradient = False
        fn = paddle.jit.to_static(layer, full_graph=True) if kind == "paddle-static" else layer
        pairs.append((fn, x))

    def work() -> None:
        for fn, x in pairs:
            fn(x).sum().backward()

    return work


def torch_work(kind: str, threads: int) -> Callable[[], None]:
    """Forward + backward of both layers in PyTorch eager (``kind``: torch, torch-cl)."""
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    fmt = torch.channels_last if kind == "torch-cl" else torch.contiguous_format
    pairs = []
    for layer_kind, c_in, c_out, size in LAYERS:
        cls = torch.nn.Conv2d if layer_kind == "conv" else torch.nn.ConvTranspose2d
        layer = cls(c_in, c_out, 4, 2, 1, bias=False).to(memory_format=fmt)
        x = torch.randn(BATCH, c_in, size, size).to(memory_format=fmt).requires_grad_()
        pairs.append((layer, x))

    def work() -> None:
        for layer, x in pairs:
            layer(x).sum().backward()

    return work


def worker(kind: str, threads: int, iters: int, warmup: int) -> Dict[str, float]:
    work = (torch_work if kind.startswith("torch") else paddle_work)(kind, threads)
    for _ in range(warmup):
        work()
    start, start_cpu = time.perf_counter(), time.process_time()
    for _ in range(iters):
        work()
    return {"wall_ms": (time.perf_counter() - start) / iters * 1000,
            "cpu_ms": (time.process_time() - start_cpu) / iters * 1000}


def run_variant(name: str, args: argparse.Namespace) -> Dict[str, float] | str:
    """Figures of one worker run, or a string saying how it failed."""
    kind, flags = VARIANTS[name]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLAGS_use_")}
    env.update(flags)
    cmd = [sys.executable, __file__, "--worker", kind, "--threads", str(args.threads),
           "--iters", str(args.iters), "--warmup", str(args.warmup)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        if "Segmentation fault" in proc.stderr or proc.returncode in (-11, 139):
            return f"failed (exit {proc.returncode}, segmentation fault)"
        errors = [line.strip() for line in proc.stderr.splitlines() if "Error" in line]
        return f"failed (exit {proc.returncode}: {errors[-1][:90] if errors else 'no message'})"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--iters", type=int, default=10, help="timed iterations per round")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.threads, args.iters, args.warmup)))
        return 0
    names = [n for n in VARIANTS
             if not VARIANTS[n][0].startswith("torch") or importlib.util.find_spec("torch")]
    load = os.getloadavg()[0]
    results: Dict[str, list] = {n: [] for n in names}
    for r in range(args.rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            results[name].append(run_variant(name, args))
    print(f"DCGAN conv + deconv forward+backward, batch {BATCH}, {args.threads} thread(s), "
          f"{args.iters} iterations x {args.rounds} rounds (median); load average {load:.1f} "
          f"before, {os.getloadavg()[0]:.1f} after")
    print(f"{'variant':22} {'wall ms':>9} {'CPU ms':>9} {'CPU x dygraph':>14}")
    base = None
    for name in names:
        ok = [r for r in results[name] if isinstance(r, dict)]
        if not ok:
            print(f"{name:22} {results[name][0]}")
            continue
        wall = statistics.median(r["wall_ms"] for r in ok)
        cpu = statistics.median(r["cpu_ms"] for r in ok)
        base = base or cpu
        print(f"{name:22} {wall:9.1f} {cpu:9.1f} {cpu / base:14.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
