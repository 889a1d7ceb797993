"""Benchmark FOMM animation (keypoints + generator per driving frame) on the CPU.

Prints, in one run, on the same inputs and the same random weights:

* ``paddlegan``: PaddleGAN's own FOMM code as shipped (dygraph, Paddle's default threads),
  when ppgan 2.1.0 is importable (see ``tests/fixtures/make_fomm_fixtures.py``; run this script
  with that environment's python), else the row is skipped;
* ``dygraph``: our networks in dygraph, ``--threads`` CPU threads;
* ``fast``: our fast engine (Paddle Inference + oneDNN); ``fast-nosplit`` without the
  once-per-source encoder; ``fast-2faces`` two source faces animated by every driving frame
  (a multi-person run: about twice ``fast`` when each face's encoding is cached) and
  ``fast-2faces-1entry`` the same with a one-entry source cache (every call re-encodes);
  ``fast-plain`` the networks exported as written (no rewrites, no split); ``fast-bf16``
  (with ``--bf16``) with the generator's decoder in bfloat16;
* ``floor``: conv GFLOP per frame of the original network / measured oneDNN conv GFLOP/s.

Rows are measured interleaved, one step of each row in turn, and each row reports the median
of its steps (wall ms and CPU ms: user + system time of the process, which on a loaded
machine counts much less of the time spent waiting for a core), so a burst of load from other
processes hits all rows alike; ratios are within this run. Example::

    python bench/bench_fomm.py --threads 2 --frames 8 --rounds 3
    /tmp/ppgan_ref/bin/python bench/bench_fomm.py          # with the PaddleGAN row
"""
from __future__ import annotations

import argparse
import importlib.util
import logging
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from harness import random_fomm

LOG = logging.getLogger("bench_fomm")
REPO = Path(__file__).resolve().parents[1]
PPGAN_LOADER = REPO / "tests" / "fixtures" / "make_fomm_fixtures.py"
PADDLE_DEFAULT_THREADS = 1       # Paddle dygraph's CPU threads unless set_num_threads is called


@dataclass
class Row:
    """One benchmarked code path: ``step(frame_index)`` animates one batch of driving frames."""

    name: str
    step: Callable[[int], Any]
    frames: int
    threads: Optional[int] = None      # Paddle dygraph threads to set before timing this row
    time_scale: float = 1.0            # measured time -> reported time (the floor row)
    prediction: Optional[np.ndarray] = None
    times: list = field(default_factory=list)
    cpu_times: list = field(default_factory=list)     # user + system CPU seconds per frame

    @property
    def ms_per_frame(self) -> float:
        return statistics.median(self.times) * 1000.0

    @property
    def cpu_ms_per_frame(self) -> float:
        return statistics.median(self.cpu_times) * 1000.0


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=None, help="FOMM config (default: packaged vox-256)")
    parser.add_argument("--image_size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2, help="CPU math threads (ours)")
    parser.add_argument("--batch_size", type=int, default=1, help="driving frames per call")
    parser.add_argument("--frames", type=int, default=6, help="driving frames per round")
    parser.add_argument("--ref_frames", type=int, default=2, help="frames per round, PaddleGAN row")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rows", default="paddlegan,dygraph,fast,fast-nosplit,fast-plain",
                        help="comma-separated rows (add fast-bf16 or use --bf16)")
    parser.add_argument("--bf16", action="store_true", help="add the fast-bf16 row")
    parser.add_argument("--cache_dir", default=None, help="export cache (default: a temp dir)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


# --- networks and inputs -------------------------------------------------------------------
def make_inputs(args, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two sources ``[2,3,S,S]`` and driving frames ``[F*B,3,S,S]``, smooth images in [0,1]."""
    import cv2

    s = args.image_size
    n = max(args.frames, args.ref_frames) * args.batch_size

    def smooth(count):
        noise = rng.uniform(0, 1, (count, s // 8, s // 8, 3)).astype("float32")
        big = [cv2.resize(img, (s, s), interpolation=cv2.INTER_CUBIC) for img in noise]
        return np.clip(np.stack(big).transpose(0, 3, 1, 2), 0, 1).astype("float32")

    return smooth(2), smooth(n)


# --- rows ----------------------------------------------------------------------------------
def engine_row(name: str, engine, sources, driving, batch: int, frames: int,
               threads: Optional[int] = None) -> Row:
    """Each step animates one batch of driving frames for every source (face) in turn."""
    kp_sources = [engine.kp_detector(source) for source in sources]

    def step(i: int):
        frames_i = driving[i * batch:(i + 1) * batch]
        kp_driving = engine.kp_detector(frames_i)
        return np.concatenate([engine.generator(source, kp_source, kp_driving).numpy()
                               for source, kp_source in zip(sources, kp_sources)])

    return Row(name, step, frames, threads)


def load_paddlegan():
    """PaddleGAN's FOMM modules via the fixture script's shim, or None when unavailable."""
    if not PPGAN_LOADER.is_file() or importlib.util.find_spec("ppgan") is None:
        return None
    spec = importlib.util.spec_from_file_location("_ppgan_fomm_loader", PPGAN_LOADER)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        return module, module.import_ppgan_fomm()
    except (ImportError, AttributeError, SystemExit) as exc:
        LOG.warning("PaddleGAN row skipped: %s", exc)
        return None


def paddlegan_row(state: dict, model_cfg: dict, source, driving, batch: int, frames: int):
    """PaddleGAN's predictor path: its nets (inference=True), dygraph defaults, no_grad."""
    import paddle

    loaded = load_paddlegan()
    if loaded is None:
        return None
    _, ref = loaded
    common = model_cfg["common_params"]
    kp = ref.kp.KPDetector(**model_cfg["generator"]["kp_detector_cfg"], **common)
    gen = ref.gen.OcclusionAwareGenerator(**model_cfg["generator"]["generator_cfg"], **common,
                                          inference=True)
    kp.set_state_dict(state["kp_detector"])
    gen.set_state_dict(state["generator"])
    kp.eval()
    gen.eval()
    src = paddle.to_tensor(source)
    with paddle.no_grad():
        kp_source = kp(src)

    def step(i: int):
        with paddle.no_grad():
            frames_i = paddle.to_tensor(driving[i * batch:(i + 1) * batch])
            kp_driving = kp(frames_i)
            src_b = paddle.tile(src, [frames_i.shape[0], 1, 1, 1])
            kp_s = {k: paddle.tile(v, [frames_i.shape[0]] + [1] * (v.ndim - 1))
                    for k, v in kp_source.items()}
            return gen(src_b, kp_driving=kp_driving, kp_source=kp_s)["prediction"].numpy()

    return Row("paddlegan", step, frames, threads=PADDLE_DEFAULT_THREADS)


# --- compute floor -------------------------------------------------------------------------
def conv_gflop_per_frame(kp_detector, generator, source, driving, skip=()) -> float:
    """Conv GFLOP of one driving frame (kp detector + generator, source keypoints excluded).

    ``skip``: sublayers whose convs are not counted (e.g. the once-per-source encoder).
    """
    import paddle
    from paddle import nn

    total = [0.0]
    skipped = {id(m) for layer in skip for m in layer.sublayers(include_self=True)}

    def hook(layer, inputs, output):
        groups = getattr(layer, "_groups", 1) or 1
        kernel = int(np.prod(layer.weight.shape[2:]))
        if isinstance(layer, nn.Conv2DTranspose):      # every input pixel meets the kernel
            total[0] += 2.0 * np.prod(inputs[0].shape) * output.shape[1] * kernel / groups
        else:
            total[0] += 2.0 * np.prod(output.shape) * inputs[0].shape[1] * kernel / groups

    with paddle.no_grad():
        kp_s = kp_detector(paddle.to_tensor(source))
        handles = [m.register_forward_post_hook(hook) for net in (kp_detector, generator)
                   for m in net.sublayers()
                   if isinstance(m, (nn.Conv2D, nn.Conv2DTranspose)) and id(m) not in skipped]
        try:
            kp_d = kp_detector(paddle.to_tensor(driving[:1]))
            generator(paddle.to_tensor(source), kp_driving=kp_d, kp_source=kp_s)
        finally:
            for handle in handles:
                handle.remove()
    return total[0] / 1e9


def fast_gflop_per_frame(kp_detector, generator, source, driving) -> float:
    """Conv GFLOP per frame of what the fast engine runs (rewritten nets, encoder once)."""
    from ppgan_app.inference.rewrites import rewritten_copy

    kp_fast, gen_fast = rewritten_copy(kp_detector), rewritten_copy(generator)
    return conv_gflop_per_frame(kp_fast, gen_fast, source, driving,
                                skip=(gen_fast.first, gen_fast.down_blocks))


CONV_STACK_GFLOP = 4 * 2.0 * 64 * 64 * 256 * 256 * 9 / 1e9   # 4 bottleneck-sized 3x3 convs


def floor_row(gflop_per_frame: float, threads: int, workdir: Path, frames: int) -> Row:
    """The compute floor, measured like the other rows (so load hits it alike).

    Each step runs 4 convs shaped like the generator's bottleneck (256 ch, 3x3, 64x64) with
    oneDNN fp32 and stretches the time to ``gflop_per_frame``.
    """
    import paddle
    from paddle import nn
    from paddle.static import InputSpec

    from ppgan_app.inference.paddle_inference import make_predictor

    convs = nn.Sequential(*[nn.Conv2D(256, 256, 3, padding=1) for _ in range(4)])
    convs.eval()
    path = workdir / "convs"
    static = paddle.jit.to_static(convs, input_spec=[InputSpec([1, 256, 64, 64], "float32", "x")],
                                  full_graph=True)
    paddle.jit.save(static, str(path))
    predictor = make_predictor(path.with_suffix(".json"), path.with_suffix(".pdiparams"), threads)
    handle = predictor.get_input_handle(predictor.get_input_names()[0])
    handle.reshape([1, 256, 64, 64])
    data = np.random.default_rng(0).uniform(-1, 1, (1, 256, 64, 64)).astype("float32")
    handle.copy_from_cpu(data)
    repeats = max(1, round(gflop_per_frame / CONV_STACK_GFLOP))
    scale = gflop_per_frame / (repeats * CONV_STACK_GFLOP)

    def step(i: int):
        for _ in range(repeats):
            predictor.run()

    return Row("floor", step, frames, time_scale=scale)


# --- measuring -----------------------------------------------------------------------------
def use_threads(row: Row) -> None:
    """Set Paddle's process-wide dygraph thread count for ``row`` (predictors set their own)."""
    if row.threads is not None:
        import paddle

        paddle.base.core.set_num_threads(row.threads)


def measure(rows: list, rounds: int, batch: int) -> None:
    """Warm every row up, then time single steps interleaved row by row (seconds per frame).

    Interleaving at the step level makes every row sample the same background load (the row
    order is reversed every other step, so no row always follows the same one); each row's
    figure is the median of its ``rounds * frames`` steps.
    """
    for row in rows:
        use_threads(row)
        row.prediction = row.step(0)
        row.step(1 % max(row.frames, 1))
    longest = max(row.frames for row in rows)
    for r in range(rounds):
        for i in range(longest):
            for row in (rows if (r * longest + i) % 2 == 0 else rows[::-1]):
                if i >= row.frames:
                    continue
                use_threads(row)
                start, start_cpu = time.perf_counter(), time.process_time()
                row.step(i)
                row.times.append((time.perf_counter() - start) * row.time_scale / batch)
                row.cpu_times.append((time.process_time() - start_cpu) * row.time_scale / batch)
        LOG.info("round %d: %s", r + 1, ", ".join(
            f"{row.name} {statistics.median(row.times) * 1000:.0f}" for row in rows))


def max_diff(prediction: np.ndarray, reference: np.ndarray) -> float:
    """Max abs diff over the reference's frames (a two-face row starts with the first face's)."""
    return float(np.abs(prediction[:len(reference)] - reference).max())


def print_table(rows: list, gflop: float, fast_gflop: float, args) -> None:
    by_name = {row.name: row for row in rows}
    reference, fast, floor = by_name.get("dygraph"), by_name.get("fast"), by_name["floor"]
    floor_ms = floor.ms_per_frame
    print(f"\nFOMM {args.image_size}x{args.image_size}, batch {args.batch_size}, "
          f"{args.threads} threads (ours), random weights; "
          f"median of interleaved steps ({args.rounds} rounds)")
    print(f"{'path':<20}{'ms/frame':>10}{'CPU ms':>9}{'x fast':>9}{'x floor':>9}"
          f"{'max|diff| vs dygraph':>23}")
    for row in rows:
        diff = ("-" if reference is None or row.prediction is None
                else f"{max_diff(row.prediction, reference.prediction):.2e}")
        ratio_fast = row.ms_per_frame / fast.ms_per_frame if fast else float("nan")
        print(f"{row.name:<20}{row.ms_per_frame:>10.1f}{row.cpu_ms_per_frame:>9.1f}"
              f"{ratio_fast:>9.2f}"
              f"{row.ms_per_frame / floor_ms:>9.2f}{diff:>23}")
    print(f"floor = {gflop:.1f} GFLOP/frame (convs of the original network) / "
          f"{gflop / floor_ms * 1000:.0f} GFLOP/s (oneDNN fp32 3x3 convs, {args.threads} threads, "
          f"measured in the same rounds)")
    print(f"the fast path computes {fast_gflop:.1f} GFLOP/frame (deconv up blocks, source "
          f"encoder once per source)")


def main(argv=None) -> None:
    args = parse_args(argv)
    from ppgan_app.utils.cpu_env import apply_cpu_env

    apply_cpu_env(args.threads)                    # before paddle (and its MKL) is loaded
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    import paddle

    from ppgan_app.inference import build_engine
    from ppgan_app.inference.paddle_inference import FastEngine
    from ppgan_app.models.firstorder import fomm_model_config

    paddle.set_device("cpu")
    model_cfg = fomm_model_config(args.config)
    kp_detector, generator = random_fomm(model_cfg, seed=args.seed, inference=True)
    rng = np.random.default_rng(args.seed + 1)
    state = {"kp_detector": kp_detector.state_dict(), "generator": generator.state_dict()}
    sources, driving = make_inputs(args, rng)
    source = sources[:1]
    wanted = [name.strip() for name in args.rows.split(",") if name.strip()]
    if args.bf16 and "fast-bf16" not in wanted:
        wanted.append("fast-bf16")
    b = args.batch_size

    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(args.cache_dir or tmp)
        rows = []
        if "paddlegan" in wanted:                  # before set_num_threads: Paddle's defaults
            row = paddlegan_row(state, model_cfg, source, driving, b, args.ref_frames)
            if row is None:
                print("paddlegan row skipped: ppgan is not importable in this environment")
            else:
                rows.append(row)
        gflop = conv_gflop_per_frame(kp_detector, generator, source, driving)
        engines = {
            "dygraph": lambda: build_engine("dygraph", kp_detector, generator),
            "fast": lambda: FastEngine(kp_detector, generator, cache, args.threads, model_cfg),
            "fast-nosplit": lambda: FastEngine(kp_detector, generator, cache, args.threads,
                                               model_cfg, split_source=False),
            "fast-plain": lambda: FastEngine(kp_detector, generator, cache, args.threads,
                                             model_cfg, split_source=False, optimize=False),
            "fast-bf16": lambda: FastEngine(kp_detector, generator, cache, args.threads,
                                            model_cfg, precision="bf16"),
            "fast-2faces": lambda: FastEngine(kp_detector, generator, cache, args.threads,
                                              model_cfg),
            "fast-2faces-1entry": lambda: FastEngine(kp_detector, generator, cache, args.threads,
                                                     model_cfg, source_entries=1),
        }
        for name in wanted:
            if name in engines:
                threads = args.threads if name == "dygraph" else None
                faces = [sources[i:i + 1] for i in range(2 if "2faces" in name else 1)]
                rows.append(engine_row(name, engines[name](), faces, driving, b, args.frames,
                                       threads))
            elif name != "paddlegan":
                raise SystemExit(f"unknown row {name!r}; "
                                 f"choose from paddlegan, {', '.join(engines)}")
        rows.append(floor_row(gflop * b, args.threads, Path(tmp), args.frames))
        measure(rows, args.rounds, b)
    print_table(rows, gflop, fast_gflop_per_frame(kp_detector, generator, source, driving), args)


if __name__ == "__main__":
    main()
