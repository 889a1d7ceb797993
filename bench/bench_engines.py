"""Every CPU engine and precision on one FOMM: ms per frame (keypoints + generator) and the gate.

Rows (the ones whose library is installed): ``dygraph`` (fp32 reference), ``fast`` and
``fast-bf16`` (Paddle Inference + oneDNN), ``openvino``, ``openvino-bf16`` and ``openvino-int8``
(OpenVINO on the ONNX graphs; int8: the decoder quantised by NNCF, calibrated on
``--calibration`` driving frames that are not timed), ``onnxruntime`` (ONNX Runtime on the same
ONNX graphs, fp32; a comparison, not a kit engine), and, where PyTorch is installed (an
optional comparison, never a dependency), ``torch`` (the same networks with the same weights in
PyTorch eager, fp32: ``bench/torch_fomm.py``), ``torch-compile`` (those under
``torch.compile``, default inductor backend) and ``torch-compile-freeze`` (plus inductor's
``freezing``, PyTorch's advice for CPU inference: weights pre-packed once). The torch rows encode each source once, as the
graph engines do, and run on ``--threads`` threads too (``torch.set_num_threads``);
``torch.compile`` compiles on the first frame, whose time is printed under the table and not
part of the row. A compile that fails (e.g. no C++ compiler) is reported as the row's reason.
On two cores shared with other work, PyTorch's rows vary far more than the others (its many
short OpenMP regions spin while a sibling thread waits for a core; Paddle's threads, once they
have run, add to it): compare the torch rows by their min column, and on an idle machine.

Inputs: the bundled portrait and the first driving frames, resized to the network's square.
Each row animates one frame per step (keypoint detector on the frame + generator; the source's
keypoints and encoding are computed once, as in a run); rows are interleaved step by step,
alternating their order; each row reports the min and median over ``--rounds`` passes of its
mean ms/frame (and the median CPU ms/frame: user + system time of the process, which counts
less of the time spent waiting for a core on a loaded machine), the PSNR of its frames against dygraph fp32 (worst frame; the gate is 40 dB) and
the max abs difference. The load average is printed at the start and the end: the machine may
be shared; compare rows as ratios within one run. Example::

    python bench/bench_engines.py --config firstorder_vox_mobile_256 --rounds 5
    python bench/bench_engines.py --config firstorder_vox_256 --rows dygraph,fast,openvino,openvino-bf16
    python bench/bench_engines.py --config tests/fixtures/fomm/tiny_config.json \\
        --weights tests/fixtures/fomm/tiny_weights.pdparams --image_size 64
"""
from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

from bench_bf16 import build_networks, psnr, sample_inputs

LOG = logging.getLogger("bench_engines")
GATE_DB = 40.0
ROWS = ("dygraph", "fast", "fast-bf16", "openvino", "openvino-bf16", "openvino-int8",
        "onnxruntime", "torch", "torch-compile", "torch-compile-freeze")
LIBRARY = {"fast": "paddle.inference", "openvino": "openvino", "onnxruntime": "onnxruntime",
           "int8": "nncf", "torch": "torch"}
TORCH_ROWS = ("torch", "torch-compile", "torch-compile-freeze")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="firstorder_vox_mobile_256",
                        help="FOMM config: packaged name or file")
    parser.add_argument("--weights", default=None, help="checkpoint (default: random weights)")
    parser.add_argument("--image_size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--frames", type=int, default=4, help="driving frames per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calibration", type=int, default=16,
                        help="driving frames (after the timed ones) that calibrate int8")
    parser.add_argument("--rows", default=",".join(ROWS[1:]),
                        help="comma-separated rows (dygraph always gives the reference frames; "
                        "list it to time it too)")
    parser.add_argument("--profile", action="store_true",
                        help="also print each row's time per graph (kp_detector, generator or "
                        "motion + decoder), CPU ms per frame over one more pass")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


class TimedRunner:
    """Wraps a graph runner; adds each call's wall and CPU seconds to ``totals[name]``."""

    def __init__(self, runner, name: str, totals: dict) -> None:
        self.runner, self.name, self.totals = runner, name, totals
        self.output_names = getattr(runner, "output_names", None)

    def __call__(self, *arrays):
        start, start_cpu = time.perf_counter(), time.process_time()
        try:
            return self.runner(*arrays)
        finally:
            wall, cpu = self.totals.setdefault(self.name, [0.0, 0.0])
            self.totals[self.name] = [wall + time.perf_counter() - start,
                                      cpu + time.process_time() - start_cpu]


def profile(engine, step, driving) -> dict:
    """``{graph: (wall ms, CPU ms) per frame}`` of a graph engine over one pass of ``driving``."""
    totals: dict = {}
    for runners in engine._runners.values():
        for name in list(runners):
            runners[name] = TimedRunner(runners[name], name, totals)
    try:
        for i in range(len(driving)):
            step(driving[i:i + 1])
    finally:
        for runners in engine._runners.values():
            for name, runner in list(runners.items()):
                runners[name] = runner.runner
    return {name: (1000 * wall / len(driving), 1000 * cpu / len(driving))
            for name, (wall, cpu) in totals.items()}


def onnxruntime_engine_class():
    """An engine running the OpenVINO engine's ONNX graphs with ONNX Runtime (bench only)."""
    import onnxruntime as ort

    from ppgan_app.inference.openvino_engine import OpenVinoEngine

    class OrtRunner:
        def __init__(self, session, inputs, outputs):
            self.session, self.input_names, self.output_names = session, list(inputs), list(outputs)

        def __call__(self, *arrays):
            feeds = {name: np.ascontiguousarray(a, np.float32)
                     for name, a in zip(self.input_names, arrays, strict=True)}
            return self.session.run(None, feeds)

    class OrtEngine(OpenVinoEngine):
        name = "onnxruntime"
        precisions = ("fp32",)

        def _load(self, directory, info, name):
            options = ort.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.log_severity_level = 3
            session = ort.InferenceSession(str(directory / f"{name}.onnx"), options,
                                           providers=["CPUExecutionProvider"])
            return OrtRunner(session, info.graphs[name], info.outputs[name])

    return OrtEngine


def build_row_engine(row: str, kp_detector, generator, cache: Path, threads: int, config,
                     image_size: int):
    """The engine of a row name (``<engine>[-<precision>]``, ``torch``, ``torch-compile``)."""
    from ppgan_app.inference.factory import build_engine

    engine, _, precision = row.partition("-")
    precision = precision or "fp32"
    if row in TORCH_ROWS:
        from torch_fomm import TorchEngine, torch_from_paddle   # torch is optional

        return TorchEngine(*torch_from_paddle(config, kp_detector, generator, image_size),
                           compile=row != "torch", freeze=row == "torch-compile-freeze")
    if engine == "onnxruntime":
        return onnxruntime_engine_class()(kp_detector, generator, cache_dir=cache,
                                          threads=threads, config=config)
    return build_engine(engine, kp_detector, generator, cache_dir=cache, threads=threads,
                        config=config, precision=precision)


def available(row: str) -> bool:
    engine, _, precision = row.partition("-")
    return all(importlib.util.find_spec(LIBRARY[part]) is not None
               for part in (engine, precision) if part in LIBRARY)


def warm_up_torch(row: str, engine, source: np.ndarray, frame: np.ndarray,
                  first_frame: dict, skipped: dict) -> bool:
    """Run a torch row's first frame (``torch.compile`` compiles then): its seconds go to
    ``first_frame[row]``; a failed compile to ``skipped[row]`` (the error's first line), False."""
    try:
        first_frame[row] = engine.warm_up(source, frame)
    except RuntimeError as err:   # torch.compile's failures (InductorError, ...) are RuntimeErrors
        skipped[row] = f"{row} failed: {str(err).strip().splitlines()[0]}"
        return False
    return True


def print_skipped(skipped: dict) -> None:
    for row, reason in skipped.items():
        print(f"{row:<22}skipped: {reason}")


def frame_step(engine, source, kp_source) -> Callable[[np.ndarray], np.ndarray]:
    """``frame [1,3,S,S]`` -> prediction ``[1,3,S,S]``: keypoints of the frame + generator."""
    def step(frame: np.ndarray) -> np.ndarray:
        return engine.generator(source, kp_source, engine.kp_detector(frame)).numpy()
    return step


def main(argv=None) -> None:
    args = parse_args(argv)
    from ppgan_app.utils.cpu_env import apply_cpu_env

    apply_cpu_env(args.threads)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    import paddle

    paddle.set_device("cpu")
    paddle.base.core.set_num_threads(args.threads)
    load_start = os.getloadavg()
    config, kp_detector, generator = build_networks(args)
    source, frames_in = sample_inputs(args.image_size, args.frames + args.calibration)
    driving, calibration = frames_in[:args.frames], frames_in[args.frames:]
    rows = [row for row in args.rows.split(",") if row]
    skipped = {row: "its library is not installed" for row in rows if not available(row)}
    rows = [row for row in rows if row not in skipped]
    if any(row in TORCH_ROWS for row in rows):
        import torch

        torch.set_num_threads(args.threads)
    first_frame = {}
    with tempfile.TemporaryDirectory() as tmp:
        steps, frames, engines = {}, {}, {}
        for row in ["dygraph"] + [row for row in rows if row != "dygraph"]:
            engine = build_row_engine(row, kp_detector, generator, Path(tmp), args.threads, config,
                                      args.image_size)
            if row.endswith("-int8"):
                engine.calibrate(source, calibration)
            if row in TORCH_ROWS and not warm_up_torch(row, engine, source, driving[:1],
                                                       first_frame, skipped):
                rows.remove(row)
                continue
            step = frame_step(engine, source, engine.kp_detector(source))
            frames[row] = np.concatenate([step(driving[i:i + 1]) for i in range(len(driving))])
            steps[row], engines[row] = step, engine
        times = {row: [] for row in rows}
        cpu_times = {row: [] for row in rows}
        for r in range(args.rounds):
            order = rows if r % 2 == 0 else rows[::-1]
            per_frame = {row: [] for row in rows}
            per_frame_cpu = {row: [] for row in rows}
            for i in range(len(driving)):
                for row in order:
                    start, start_cpu = time.perf_counter(), time.process_time()
                    steps[row](driving[i:i + 1])
                    per_frame[row].append(time.perf_counter() - start)
                    per_frame_cpu[row].append(time.process_time() - start_cpu)
            for row in rows:
                times[row].append(1000.0 * statistics.mean(per_frame[row]))
                cpu_times[row].append(1000.0 * statistics.mean(per_frame_cpu[row]))
        profiles = {row: profile(engines[row], steps[row], driving) for row in rows
                    if args.profile and hasattr(engines[row], "_runners")}
    if not rows:
        print_skipped(skipped)
        return
    reference = frames["dygraph"]
    print(f"\nFOMM {args.image_size}px, {args.config}, "
          f"{'weights ' + args.weights if args.weights else 'random weights'}; bundled sample, "
          f"{len(driving)} frames x {args.rounds} rounds, {args.threads} threads; load average "
          f"{load_start[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    base = min(times[rows[0]])
    print(f"{'row':<22}{'min ms':>9}{'median':>9}{'CPU ms':>9}{'x ' + rows[0]:>12}"
          f"{'PSNR dB':>10}{'max|diff|':>11}  gate")
    for row in rows:
        quality = ("", "", "")
        if row != "dygraph":
            worst = float(psnr(frames[row], reference).min())
            quality = (f"{worst:.1f}", f"{np.abs(frames[row] - reference).max():.1e}",
                       "pass" if worst >= GATE_DB else "FAIL")
        print(f"{row:<22}{min(times[row]):>9.1f}{statistics.median(times[row]):>9.1f}"
              f"{statistics.median(cpu_times[row]):>9.1f}{base / min(times[row]):>12.2f}{quality[0]:>10}{quality[1]:>11}  {quality[2]}")
    for row, graphs in profiles.items():
        print(f"profile {row}: " + ", ".join(f"{name} {wall:.1f} ms ({cpu:.1f} CPU ms)"
                                            for name, (wall, cpu) in graphs.items()))
    for row, seconds in first_frame.items():
        what = "compile + first frame" if row != "torch" else "first frame"
        print(f"{row}: {what} {seconds:.1f} s (not timed in the row)")
    print_skipped(skipped)


if __name__ == "__main__":
    main()
