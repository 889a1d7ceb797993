"""A/B of the export rewrites: the fast engine with and without one rewrite rule.

Exports the networks twice in one process, once with every rule of
:data:`ppgan_app.inference.rewrites.DEFAULT_RULES` and once without the rule named by
``--without`` (default: the mobile up block's phase rewrite), then times keypoints + generator
per driving frame, rows interleaved and reversed every other step: wall ms and CPU ms (user +
system of the process, which on a loaded machine counts much less of the waiting for a core).
Both rows are checked against the dygraph networks.

    python bench/bench_rewrites.py --config configs/firstorder_vox_mobile_256.yaml
    python bench/bench_rewrites.py --without is_plain_up_block           # vox-256 deconvs
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from unittest import mock

import numpy as np

from harness import random_fomm


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=None, help="FOMM config (default: packaged vox-256)")
    parser.add_argument("--without", default="is_mobile_up_block",
                        help="matcher name of the rule left out of the second row")
    parser.add_argument("--image_size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=16, help="timed frames per row")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    from ppgan_app.utils.cpu_env import apply_cpu_env

    apply_cpu_env(args.threads)
    import paddle

    from ppgan_app.inference import build_engine
    from ppgan_app.inference import export as export_mod
    from ppgan_app.inference import rewrites
    from ppgan_app.inference.paddle_inference import FastEngine
    from ppgan_app.models.firstorder import fomm_model_config

    paddle.set_device("cpu")
    rules = {"all rules": rewrites.DEFAULT_RULES,
             f"without {args.without}": tuple(rule for rule in rewrites.DEFAULT_RULES
                                              if rule[0].__name__ != args.without)}
    if len(rules[f"without {args.without}"]) == len(rewrites.DEFAULT_RULES):
        raise SystemExit(f"no rule named {args.without!r}; rules: "
                         f"{', '.join(rule[0].__name__ for rule in rewrites.DEFAULT_RULES)}")
    config = fomm_model_config(args.config)
    kp_detector, generator = random_fomm(config, seed=args.seed, inference=True)
    rng = np.random.default_rng(args.seed + 1)
    s = args.image_size
    source = rng.uniform(0, 1, (1, 3, s, s)).astype("float32")
    driving = rng.uniform(0, 1, (4, 3, s, s)).astype("float32")
    dygraph = build_engine("dygraph", kp_detector, generator)
    kp_source = dygraph.kp_detector(source)
    expected = dygraph.generator(source, kp_source, dygraph.kp_detector(driving[:1])).numpy()

    engines, diffs = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, rule_set) in enumerate(rules.items()):
            with mock.patch.object(export_mod, "rewritten_copy",
                                   lambda layer, rule_set=rule_set:
                                   _rewritten(rewrites, layer, rule_set)):
                engine = FastEngine(kp_detector, generator, Path(tmp) / str(i), args.threads,
                                    config)
                engine.prepare((s, s))
            engines[name] = engine
            got = engine.generator(source, kp_source, engine.kp_detector(driving[:1])).numpy()
            diffs[name] = float(np.abs(got - expected).max())
        wall = {name: [] for name in engines}
        cpu = {name: [] for name in engines}
        names = list(engines)
        for step in range(args.steps):
            for name in (names if step % 2 == 0 else names[::-1]):
                frame = driving[step % len(driving)][None]
                start, start_cpu = time.perf_counter(), time.process_time()
                engines[name].generator(source, kp_source, engines[name].kp_detector(frame))
                wall[name].append(time.perf_counter() - start)
                cpu[name].append(time.process_time() - start_cpu)
    print(f"\nFOMM {s}x{s} ({args.config or 'vox-256'}), {args.threads} threads, random weights, "
          f"median of {args.steps} interleaved frames")
    print(f"{'export':<36}{'ms/frame':>10}{'CPU ms':>9}{'max|diff| vs dygraph':>23}")
    for name in names:
        print(f"{name:<36}{statistics.median(wall[name]) * 1000:>10.1f}"
              f"{statistics.median(cpu[name]) * 1000:>9.1f}{diffs[name]:>23.2e}")


def _rewritten(rewrites, layer, rule_set):
    """``rewritten_copy`` with an explicit rule set."""
    return rewrites.rewritten_copy(layer, rule_set)


if __name__ == "__main__":
    main()
