"""Train a GAN config under a CPU-time budget and record the CPU seconds of every checkpoint.

Equal-CPU comparisons of GAN recipes need the training process's own CPU time (user + system)
at each checkpoint, not wall time: on a shared machine wall time mostly counts waiting for a
core. This script starts ``tools/main.py`` as a child process, reads the child's CPU time from
``/proc/<pid>/stat`` twice a second, writes one row per checkpoint as it appears
(``cpu_log.json`` in ``--output_dir``: iteration, CPU s, path) and stops the run with Ctrl-C's
signal (the trainer then saves a last checkpoint) once ``--cpu_budget`` seconds are used.

    nice -n 10 python bench/gan_cpu_budget.py --output_dir runs/base --cpu_budget 900 -- \\
        -c configs/dcgan_fashion_mnist.yaml --threads 1 -o validate=null snapshot_config.interval=250

Everything after ``--`` goes to ``tools/main.py`` (``output_dir`` is set from ``--output_dir``).
Prints a table of checkpoints with CPU s and CPU s per iteration. Linux only (``/proc``).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

MAIN = Path(__file__).resolve().parents[1] / "tools" / "main.py"
ITER_RE = re.compile(r"iter_(\d+)_checkpoint\.pdparams$")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (all its threads), from ``/proc``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


def new_checkpoints(folder: Path, seen: Dict[str, dict]) -> List[Path]:
    """Checkpoint files under ``folder`` not yet in ``seen``."""
    return sorted(p for p in folder.rglob("iter_*_checkpoint.pdparams") if str(p) not in seen)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output_dir", required=True, help="run folder (tools/main.py output_dir)")
    parser.add_argument("--cpu_budget", type=float, required=True, help="stop after this many CPU s")
    parser.add_argument("main_args", nargs=argparse.REMAINDER, help="-- then tools/main.py arguments")
    args = parser.parse_args()
    if args.cpu_budget <= 0:
        parser.error("--cpu_budget must be > 0")
    main_args = [a for a in args.main_args if a != "--"] if args.main_args[:1] == ["--"] else args.main_args
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    if "-o" in main_args:
        main_args = main_args + [f"output_dir={out}"]
    else:
        main_args = main_args + ["-o", f"output_dir={out}"]
    cmd = [sys.executable, str(MAIN)] + main_args
    log_path = out / "cpu_log.json"
    rows: Dict[str, dict] = {}
    with open(out / "train_stdout.log", "w") as log:
        child = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        stopped = False
        cpu = 0.0
        while child.poll() is None:
            try:
                cpu = cpu_seconds(child.pid)
            except (OSError, IndexError, ValueError):
                break
            for path in new_checkpoints(out, rows):
                rows[str(path)] = {"iter": int(ITER_RE.search(path.name).group(1)), "cpu_s": round(cpu, 1),
                                   "path": str(path)}
                log_path.write_text(json.dumps(sorted(rows.values(), key=lambda r: r["iter"]), indent=1))
            if cpu >= args.cpu_budget and not stopped:
                child.send_signal(signal.SIGINT)
                stopped = True
            time.sleep(0.5)
        code = child.wait()
    for path in new_checkpoints(out, rows):
        rows[str(path)] = {"iter": int(ITER_RE.search(path.name).group(1)), "cpu_s": round(cpu, 1),
                           "path": str(path)}
    table = sorted(rows.values(), key=lambda r: r["iter"])
    log_path.write_text(json.dumps(table, indent=1))
    print(f"{'iteration':>9} | {'CPU s':>7} | {'CPU s/it':>8} | checkpoint")
    for row in table:
        per_it = row["cpu_s"] / row["iter"] if row["iter"] else float("nan")
        print(f"{row['iter']:>9} | {row['cpu_s']:>7.1f} | {per_it:>8.4f} | {row['path']}")
    print(f"training exit status {code} (130 = stopped at the CPU budget)")
    return 0 if code in (0, 130) else code


if __name__ == "__main__":
    sys.exit(main())
