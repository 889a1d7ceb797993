"""``ppgan-train`` / ``tools/main.py``: train or evaluate a model from a YAML config.

    python tools/main.py -c configs/dcgan_fashion_mnist.yaml -o total_iters=2000
    python tools/main.py -c CONFIG --resume output_dir/RUN/iter_0002000_checkpoint.pdparams
    python tools/main.py -c CONFIG --evaluate-only --load WEIGHTS
    python -m paddle.distributed.launch --nproc_per_node 2 tools/main.py -c CONFIG

This module only parses and checks options, sets up the process (device, threads, seed
via the trainer) and calls the engine. Paddle is imported inside ``run_cli`` (after
``MKL_DEBUG_CPU_TYPE`` is set, before its MKL loads). Errors become one line and an exit
code in ``ppgan_app.cli.common.run_cli``: 0 finished, 1 a fault (disk full, ...), 2 bad
options/config/data/checkpoint, 3 training diverged, 130 stopped by Ctrl-C, 143 by SIGTERM
(both after saving a checkpoint).
"""
from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from ppgan_app.cli.common import run_cli
from ppgan_app.errors import (EXIT_OK, EXIT_SIGINT, EXIT_SIGTERM, CheckpointError, ConfigError,
                              InputError)
from ppgan_app.utils.config import SCHEMA

logger = logging.getLogger("ppgan_app.cli.train")

MAX_SEED = SCHEMA["seed"].maximum  # ``--seed`` obeys the config's rule for ``seed``


def _int_in(low: int, high: Optional[int] = None) -> Any:
    """An argparse type: an integer in [low, high] (argparse turns the error into exit 2)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f">= {low}"
            raise argparse.ArgumentTypeError(f"{value} is out of range: expected an integer {bound}")
        return value
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ppgan-train", description=__doc__.split("\n\n")[0])
    parser.add_argument("-c", "--config-file", help="YAML config (PaddleGAN layout)")
    parser.add_argument("-o", "--opt", nargs="+", default=[], metavar="KEY=VALUE",
                        help="override config keys, e.g. -o total_iters=100 dataset.train.batch_size=32 "
                             "(values are parsed as YAML)")
    parser.add_argument("--resume", metavar="CKPT",
                        help="continue training exactly from a checkpoint (without -c: its own config)")
    parser.add_argument("--load", metavar="WEIGHTS", help="load net weights only, then train or evaluate")
    parser.add_argument("--evaluate-only", action="store_true",
                        help="run validation on dataset.test and exit")
    parser.add_argument("--seed", type=_int_in(0, MAX_SEED),
                        help=f"random seed, 0 to {MAX_SEED} (overrides the config's 'seed')")
    parser.add_argument("--device", choices=("cpu", "gpu"),
                        help="default: gpu when Paddle was built with CUDA, else cpu")
    parser.add_argument("--no-cuda", action="store_true", help="same as --device cpu (PaddleGAN's flag)")
    parser.add_argument("--amp", action="store_true", help="mixed precision training steps (GPU only)")
    parser.add_argument("--threads", type=_int_in(1, 1024),
                        help="CPU threads per process (default: CPU cores / processes)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the resolved config and exit without training")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Parse ``argv`` and train; return the exit code (bad flags exit 2 through argparse)."""
    args = build_parser().parse_args(argv)
    from ppgan_app.utils.logger import setup_logger
    setup_logger(rank=int(os.environ.get("PADDLE_TRAINER_ID", "0")))
    return run_cli(lambda: _run(args), logger_name="ppgan_app.cli.train")


def _run(args: argparse.Namespace) -> int:
    cfg, name, resume_state = _resolve_config(args)
    if args.dry_run:
        import yaml
        from ppgan_app.utils.config import _plain
        sys.stdout.write(yaml.safe_dump(_plain(cfg), sort_keys=False))
        return EXIT_OK
    device = _setup_device(args)
    threads = _setup_threads(args.threads or _checkpoint_threads(resume_state))
    trainer = _build_trainer(cfg, name, amp=args.amp and device == "gpu",
                             train_data=not args.evaluate_only, cpu_threads=threads)
    try:
        return _train_or_evaluate(trainer, args, resume_state)
    finally:
        trainer.close()


def _resolve_config(args: argparse.Namespace) -> Tuple[Dict[str, Any], str, Optional[Mapping[str, Any]]]:
    """The config (file, or the resumed checkpoint's) with overrides and ``--seed``; a run
    name; and the ``--resume`` checkpoint, read and checked before anything is built."""
    from ppgan_app.engine.checkpoint import check_trainer_checkpoint, load_checkpoint
    from ppgan_app.utils.config import load_config, resolve_config
    if not args.config_file and not args.resume:
        raise InputError("give a config with -c/--config-file (or --resume CKPT to reuse its config)")
    resume_state = None
    if args.resume and not args.evaluate_only:
        resume_state = check_trainer_checkpoint(load_checkpoint(args.resume), args.resume)
    if args.config_file:
        cfg, name = load_config(args.config_file, args.opt), Path(args.config_file).stem
    else:
        saved = (resume_state or load_checkpoint(args.resume))
        saved = saved.get("config") if isinstance(saved, Mapping) else None
        if not isinstance(saved, Mapping):
            raise CheckpointError(f"{args.resume} carries no config; give it with -c/--config-file")
        cfg = resolve_config(saved, args.opt, source=f"config of {args.resume}")
        name = re.sub(r"-\d{8}-\d{6}(-\d+)?$", "", Path(args.resume).resolve().parent.name) or "run"
    if args.seed is not None:
        cfg["seed"] = args.seed
    return cfg, name, resume_state


def _build_trainer(cfg: Dict[str, Any], name: str, amp: bool, train_data: bool,
                   cpu_threads: Optional[int] = None) -> Any:
    """The trainer; set-up errors a user can fix (missing data, bad names or kwargs in the
    config) become ``ConfigError``/``InputError`` (exit 2)."""
    from ppgan_app.engine import Trainer
    try:
        return Trainer(cfg, name=name, amp=amp, train_data=train_data, cpu_threads=cpu_threads)
    except (FileNotFoundError, NotADirectoryError) as err:
        raise InputError(_one_line(err)) from err
    except (KeyError, ValueError) as err:
        if isinstance(err, InputError):
            raise
        raise ConfigError(_one_line(err)) from err
    except TypeError as err:
        if "cannot build" in str(err) or "config" in str(err):
            raise ConfigError(_one_line(err)) from err
        raise
    except AssertionError as err:  # Paddle's shape checks on values the constructors accepted
        raise ConfigError(f"the config's values cannot build the model or data: {_one_line(err)}; "
                          f"check the sizes given under model and dataset") from err


def _train_or_evaluate(trainer: Any, args: argparse.Namespace,
                       resume_state: Optional[Mapping[str, Any]]) -> int:
    if args.load:
        trainer.load_weights(args.load)
    if args.evaluate_only:
        if args.resume:
            trainer.load_weights(args.resume, strict=True)
        results = trainer.evaluate()
        print(f"evaluated {args.config_file or args.resume}: "
              + (", ".join(f"{k}={v}" for k, v in results.items()) or "no metrics"))
        return EXIT_OK
    if resume_state is not None:
        from ppgan_app.engine.checkpoint import clean_stale_checkpoint_temps
        clean_stale_checkpoint_temps(Path(args.resume).parent)
    status = trainer.train(resume=resume_state, resume_source=args.resume)
    print(f"{status} at iteration {trainer.iter}; run folder {trainer.run_dir}")
    if status == "finished":
        return EXIT_OK
    return EXIT_SIGTERM if trainer.stop_signal == "SIGTERM" else EXIT_SIGINT


def _setup_device(args: argparse.Namespace) -> str:
    import paddle

    from ppgan_app.utils.device import check_device
    device = "cpu" if args.no_cuda else args.device
    if device is None:
        device = "gpu" if paddle.is_compiled_with_cuda() else "cpu"
    check_device(device)
    if args.amp and device != "gpu":
        logger.warning("--amp needs a GPU; training on the CPU in float32")
    if device == "gpu" and int(os.environ.get("PADDLE_TRAINERS_NUM", "1")) > 1:
        device = f"gpu:{paddle.distributed.ParallelEnv().device_id}"
    paddle.set_device(device)
    return device.split(":")[0]


def _checkpoint_threads(resume_state: Optional[Mapping[str, Any]]) -> Optional[int]:
    """The CPU thread count a resumed checkpoint was trained with (None: not recorded); an
    exact resume computes with the same count."""
    threads = (resume_state or {}).get("cpu_threads")
    if isinstance(threads, int) and threads > 0:
        logger.info("resuming with the checkpoint's %d CPU thread(s)", threads)
        return threads
    return None


def _setup_threads(threads: Optional[int]) -> int:
    """Paddle dygraph uses one CPU thread unless told; default: cores / processes. Returns the count."""
    import paddle
    procs = int(os.environ.get("PADDLE_TRAINERS_NUM", "1"))
    count = threads or max(1, (os.cpu_count() or 1) // procs)
    paddle.base.core.set_num_threads(count)
    logger.info("CPU threads per process: %d", count)
    return count


def _one_line(err: BaseException) -> str:
    text = str(err.args[0]) if err.args else str(err)
    if isinstance(err.__cause__, KeyError) and err.__cause__.args:
        text = str(err.__cause__.args[0])
    return " ".join(text.split())

