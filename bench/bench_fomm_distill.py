"""Distilled vs from-scratch FOMM student at equal CPU time (user + system seconds).

Two arms train the same small student (configs/firstorder_tiny_motion_64_mobile.yaml's
``generator`` entry, mobile blocks, half the teacher's widths) for the same CPU budget:

* ``scratch``: ``FirstOrderModel`` on the data (configs/firstorder_tiny_motion_64.yaml with the
  student's widths), FOMM's losses against the real frames only;
* ``distilled``: ``FirstOrderModelMobile`` against the frozen teacher, in PaddleGAN's stage
  names: ``kp_detector`` (here a keypoint regression onto the teacher: image losses off, so
  nothing is rendered, lr_kp_detector 2e-3), then ``both`` from that keypoint detector and a
  fresh generator, with ``distillation_keypoints`` (teacher's keypoints and jacobians; weight
  10) and optionally ``distillation`` (pixel pyramid to the teacher's frame; ``--distillation``,
  default 0) on top of FOMM's losses.
  ``--generator-share`` > 0 adds PaddleGAN's ``generator`` stage in between.

Each training process is stopped with SIGINT (the trainer finishes the iteration and saves a
checkpoint) once its process tree has used its share of the budget; the CPU figures printed
are the children's own (``wait4`` rusage, reaped data-loader workers included). Then
``tools/evaluate_fomm.py`` scores both students on the held-out clips (frames 1..) with the
teacher as ``--reference`` (``L1_ref``: mean |student - teacher prediction|).

    python bench/bench_fomm_distill.py --teacher RUN/iter_0001500_checkpoint.pdparams \\
        --data data/motion64 --budget 720 --output out/distill_bench

Run the two arms on a machine as idle as possible; each uses one thread. Both arms may run
at once (``--parallel``): CPU time, not wall time, is what is compared.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Sequence

ROOT = Path(__file__).resolve().parent.parent
STUDENT_KP = ("{temperature: 0.1, block_expansion: 8, max_features: 64, scale_factor: 0.5, "
              "num_blocks: 4, mobile_net: true}")
STUDENT_GEN = ("{block_expansion: 8, max_features: 64, num_down_blocks: 2, num_bottleneck_blocks: 2, "
               "estimate_occlusion_map: true, mobile_net: true, dense_motion_params: "
               "{block_expansion: 8, max_features: 64, num_blocks: 4, scale_factor: 0.5}}")


def tree_cpu_seconds(root: int) -> float:
    """user + system seconds of ``root`` and its live descendants (and their reaped children)."""
    tick = os.sysconf("SC_CLK_TCK")
    children: Dict[int, List[int]] = {}
    cpu: Dict[int, float] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="ascii") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(name))
        cpu[int(name)] = sum(int(x) for x in fields[11:15]) / tick   # utime stime cutime cstime
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0.0)
        todo.extend(children.get(pid, []))
    return total


def run_with_budget(cmd: Sequence[str], budget: float, log: Path) -> Dict[str, float]:
    """Run ``cmd``; SIGINT it at ``budget`` CPU-seconds. Returns user/sys/wall seconds."""
    start = time.time()
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        stopped = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if not stopped and tree_cpu_seconds(proc.pid) >= budget:
                os.kill(proc.pid, signal.SIGINT)
                stopped = True
            time.sleep(0.5)
    code = os.waitstatus_to_exitcode(status)
    if not stopped and code != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} failed with exit code {code}; see {log}")
    return {"user": usage.ru_utime, "sys": usage.ru_stime, "wall": time.time() - start}


def last_checkpoint(folder: Path) -> Path:
    found = sorted(folder.glob("*/iter_*_checkpoint.pdparams"))
    if not found:
        raise SystemExit(f"no checkpoint under {folder}")
    return found[-1]


def train_cmd(config: str, overrides: Sequence[str], threads: int) -> List[str]:
    return [sys.executable, "tools/main.py", "-c", config, "--threads", str(threads), "--seed", "0",
            "-o", "total_iters=1000000", *overrides]


def lr_overrides(args: argparse.Namespace) -> List[str]:
    """``--lr`` for the generator, keypoint detector and discriminator (none: the configs')."""
    if args.lr is None:
        return []
    return [f"lr_scheduler.{name}={args.lr}"
            for name in ("lr_generator", "lr_kp_detector", "lr_discriminator")]


def scratch_arm(args: argparse.Namespace, out: Path) -> List[Dict]:
    overrides = lr_overrides(args) + [f"model.generator.kp_detector_cfg={STUDENT_KP}",
                 f"model.generator.generator_cfg={STUDENT_GEN}", "validate.interval=0",
                 "snapshot_config.interval=0", f"dataset.train.dataroot={args.data}",
                 f"dataset.test.dataroot={args.data}", f"output_dir={out}/scratch"]
    cost = run_with_budget(train_cmd("configs/firstorder_tiny_motion_64.yaml", overrides, args.threads),
                           args.budget, out / "scratch.log")
    return [dict(stage="scratch", checkpoint=last_checkpoint(out / "scratch"), **cost)]


def distilled_arm(args: argparse.Namespace, out: Path) -> List[Dict]:
    config = "configs/firstorder_tiny_motion_64_mobile.yaml"
    common = [f"model.teacher_weights={args.teacher}", f"dataset.train.dataroot={args.data}",
              f"dataset.test.dataroot={args.data}",
              f"model.train_params.loss_weights.distillation={args.distillation}",
              f"model.train_params.loss_weights.distillation_keypoints={args.distillation_keypoints}"]
    rows = []
    kp_only = ["model.mode=kp_detector", "model.train_params.loss_weights.perceptual=[0, 0, 0, 0, 0]",
               "model.train_params.loss_weights.distillation=0",
               f"lr_scheduler.lr_kp_detector={args.kp_lr}", f"output_dir={out}/kp"]
    cost = run_with_budget(train_cmd(config, common + kp_only, args.threads),
                           args.budget * args.kp_share, out / "kp.log")
    rows.append(dict(stage="kp_detector", checkpoint=last_checkpoint(out / "kp"), **cost))
    both = lr_overrides(args) + ["model.mode=both", f"model.kp_weight_path={rows[0]['checkpoint']}",
                                 f"output_dir={out}/both"]
    if args.generator_share > 0:
        cost = run_with_budget(train_cmd(config, common + ["model.mode=generator", f"output_dir={out}/gen"],
                                         args.threads), args.budget * args.generator_share, out / "gen.log")
        rows.append(dict(stage="generator", checkpoint=last_checkpoint(out / "gen"), **cost))
        both.append(f"model.gen_weight_path={rows[-1]['checkpoint']}")
    remaining = args.budget - sum(r["user"] + r["sys"] for r in rows)
    cost = run_with_budget(train_cmd(config, common + both, args.threads), remaining, out / "both.log")
    rows.append(dict(stage="both", checkpoint=last_checkpoint(out / "both"), **cost))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teacher", required=True, help="the teacher's training checkpoint")
    parser.add_argument("--data", required=True, help="tools/make_motion_dataset.py output (train/, test/)")
    parser.add_argument("--output", required=True, help="a new folder for runs and logs")
    parser.add_argument("--budget", type=float, default=720.0, help="CPU-seconds per arm (default 720)")
    parser.add_argument("--kp-share", type=float, default=0.1, help="share of the kp_detector stage")
    parser.add_argument("--generator-share", type=float, default=0.0,
                        help="share of PaddleGAN's generator stage (default 0: skipped)")
    parser.add_argument("--kp-lr", type=float, default=2e-3, help="lr of the keypoint regression stage")
    parser.add_argument("--distillation", type=float, default=0.0,
                        help="frame distillation weight (default 0: the best row measured)")
    parser.add_argument("--distillation-keypoints", type=float, default=10.0)
    parser.add_argument("--lr", type=float, default=None,
                        help="learning rate of both arms' generator, keypoint detector and "
                             "discriminator (default: the configs' 2e-4)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--parallel", action="store_true", help="run the two arms at the same time")
    args = parser.parse_args(argv)
    if args.budget <= 0 or not 0 < args.kp_share + args.generator_share < 1:
        parser.error("--budget must be > 0 and the stage shares must leave room for the both stage")
    args.teacher, args.data = Path(args.teacher).resolve(), Path(args.data).resolve()
    out = Path(args.output).resolve()
    if out.exists() and any(out.iterdir()):
        parser.error(f"--output {out} is not empty")
    out.mkdir(parents=True, exist_ok=True)
    if args.parallel:
        import concurrent.futures as futures
        with futures.ThreadPoolExecutor(2) as pool:
            jobs = [pool.submit(distilled_arm, args, out), pool.submit(scratch_arm, args, out)]
            rows = [row for job in jobs for row in job.result()]
    else:
        rows = distilled_arm(args, out) + scratch_arm(args, out)
    print("| arm / stage | iterations | CPU s (user+sys) | wall s |")
    print("|---|---:|---:|---:|")
    for row in rows:
        iters = int(row["checkpoint"].stem.split("_")[1])
        print(f"| {row['stage']} | {iters} | {row['user'] + row['sys']:.1f} | {row['wall']:.0f} |")
    distilled = [r for r in rows if r["stage"] != "scratch"]
    print(f"distilled total {sum(r['user'] + r['sys'] for r in distilled):.1f} CPU-s; scratch "
          f"{sum(r['user'] + r['sys'] for r in rows if r['stage'] == 'scratch'):.1f} CPU-s")
    evaluate = [sys.executable, "tools/evaluate_fomm.py", "--checkpoint", str(args.teacher),
                str(distilled[-1]["checkpoint"]), str(rows[-1]["checkpoint"]),
                "--label", "teacher", "distilled", "scratch", "--reference", str(args.teacher),
                "--videos", f"{args.data}/test", "--baselines", "repeat_source", "--face-metrics", "off",
                "--skip-source", "--json", str(out / "scores.json")]
    return subprocess.run(evaluate, cwd=ROOT, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
