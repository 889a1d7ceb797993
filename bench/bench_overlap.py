"""Steady-state demo time against model time: does the pipeline hide paste-back and encoding?

Runs ``FirstOrderPredictor`` on the bundled sample (512x512 portrait, 100 driving frames)
and times its rendering loop (``_render``: network calls, paste-back, H.264 encoding; the
keypoint pass over the driving video and face detection are before it) and, inside it, the
network calls (``animate_batch``). Two rows, interleaved and in reversed order every other
round, in one process: ``threaded`` (paste-back and encoding on the ``OrderedStage`` worker
thread, as shipped) and ``inline`` (the same work on the main thread, as before). Wall and
CPU ms per frame; "x model" is render time over model time (1.00 = I/O fully hidden).

    python bench/bench_overlap.py                                   # tiny random FOMM at 256
    python bench/bench_overlap.py --config configs/firstorder_vox_mobile_256.yaml --engine fast
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from typing import Dict, List

from harness import InlineStage, save_random_fomm


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=None, help="FOMM config (default: packaged tiny)")
    parser.add_argument("--image_size", type=int, default=256)
    parser.add_argument("--engine", default="dygraph", choices=["dygraph", "fast"])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)

    from ppgan_app.utils.cpu_env import apply_cpu_env

    apply_cpu_env(os.cpu_count() or 1)
    from ppgan_app.apps import FirstOrderPredictor
    from ppgan_app.apps.expression_transfer import predictor as module
    from ppgan_app.utils.resources import packaged_config

    config = args.config or str(packaged_config("firstorder_tiny_64"))
    timers: Dict[str, float] = {"model": 0.0}
    real_animate = module.animate_batch

    def timed_animate(*a, **k):
        start = time.perf_counter()
        try:
            return real_animate(*a, **k)
        finally:
            timers["model"] += time.perf_counter() - start

    module.animate_batch = timed_animate
    stages = {"threaded": module.OrderedStage, "inline": InlineStage}
    results: Dict[str, List[Dict[str, float]]] = {name: [] for name in stages}
    with tempfile.TemporaryDirectory() as tmp:
        weights = save_random_fomm(config, os.path.join(tmp, "random.pdparams"))
        predictor = FirstOrderPredictor(output=tmp, config=config, weight_path=weights,
                                        image_size=args.image_size, relative=True,
                                        adapt_scale=True, engine=args.engine, progress=False)
        real_render = predictor._render

        def timed_render(*a, **k):
            timers["model"] = 0.0
            start, start_cpu = time.perf_counter(), time.process_time()
            frames, audio = real_render(*a, **k)
            timers["render"] = time.perf_counter() - start
            timers["render_cpu"] = time.process_time() - start_cpu
            timers["frames"] = frames
            return frames, audio

        predictor._render = timed_render
        predictor.run()                                   # warm-up (and export, if fast)
        for r in range(args.rounds):
            for name in (list(stages) if r % 2 == 0 else list(stages)[::-1]):
                module.OrderedStage = stages[name]
                predictor.run()
                n = timers["frames"]
                results[name].append({"render": timers["render"] / n * 1000,
                                       "cpu": timers["render_cpu"] / n * 1000,
                                       "model": timers["model"] / n * 1000})
        module.OrderedStage = stages["threaded"]
    print(f"{os.path.basename(config)} at {args.image_size}, engine {args.engine}, bundled sample, "
          f"{args.rounds} rounds (median); load average {os.getloadavg()[0]:.1f}")
    print(f"{'row':10} {'render ms/frame':>16} {'CPU ms/frame':>13} {'model ms/frame':>15} "
          f"{'x model':>8}")
    for name, rows in results.items():
        render = statistics.median(r["render"] for r in rows)
        cpu = statistics.median(r["cpu"] for r in rows)
        model = statistics.median(r["model"] for r in rows)
        print(f"{name:10} {render:16.1f} {cpu:13.1f} {model:15.1f} {render / model:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
