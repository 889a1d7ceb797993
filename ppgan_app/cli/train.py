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

import logging
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from ppgan_app.cli.common import run_main
from ppgan_app.errors import (EXIT_OK, EXIT_SIGINT, EXIT_SIGTERM, CheckpointError, ConfigError,
                              InputError)
from ppgan_app.utils.config import SCHEMA
from ppgan_app.utils.options import Options, in_range, option
from ppgan_app.utils.process import DEVICES, MAX_THREADS

logger = logging.getLogger("ppgan_app.cli.train")

MAX_SEED = SCHEMA["seed"].maximum  # ``--seed`` obeys the config's rule for ``seed``


@dataclass(frozen=True)
class TrainOptions(Options):
    """``tools/main.py`` options: PaddleGAN's ``main.py`` flags, spelled with its hyphens."""

    config_file: Optional[str] = option(None, "YAML config (PaddleGAN layout)",
                                        flag="--config-file", short="-c", metavar="CONFIG",
                                        kind=str)
    opt: Tuple[str, ...] = option(
        (), "override config keys, e.g. -o total_iters=100 dataset.train.batch_size=32 "
        "(values are parsed as YAML)", short="-o", nargs="+", metavar="KEY=VALUE", kind=str)
    resume: Optional[str] = option(None, "continue training exactly from a checkpoint "
                                   "(without -c: its own config)", metavar="CKPT", kind=str)
    load: Optional[str] = option(None, "load net weights only, then train or evaluate",
                                 metavar="WEIGHTS", kind=str)
    evaluate_only: bool = option(False, "run validation on dataset.test and exit",
                                 flag="--evaluate-only")
    seed: Optional[int] = option(None, f"random seed, 0 to {MAX_SEED} (overrides the config's "
                                 "'seed')", check=in_range(0, MAX_SEED), metavar="N", kind=int)
    device: Optional[str] = option(None, "device to train on (default: gpu when Paddle was built "
                                   "with CUDA, else cpu)", choices=DEVICES, kind=str)
    no_cuda: bool = option(False, "same as --device cpu (PaddleGAN's flag)", flag="--no-cuda")
    amp: bool = option(False, "mixed precision training steps (GPU only)")
    threads: Optional[int] = option(None, "CPU threads per process (default: the cores this "
                                    "process may use / processes)",
                                    check=in_range(1, MAX_THREADS), metavar="N", kind=int)
    dry_run: bool = option(False, "print the resolved config and exit without training",
                           flag="--dry-run")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.no_cuda:
            if self.device not in (None, "cpu"):
                raise InputError(f"--no-cuda contradicts --device {self.device}")
            object.__setattr__(self, "device", "cpu")


def build_parser():
    """``ppgan-train``'s argument parser, one flag per :class:`TrainOptions` field."""
    from ppgan_app.cli.options import build_parser as from_options

    return from_options(TrainOptions, "ppgan-train", __doc__.split("\n\n")[0])


def parse(argv: Sequence[str]) -> TrainOptions:
    """The checked options (bad flags: one line, exit 2, before anything is read); ``--resume``
    without ``--threads`` takes the thread count the checkpoint was trained with."""
    import dataclasses

    from ppgan_app.cli.options import options_from

    options = options_from(TrainOptions, build_parser().parse_args(argv))
    if options.resume and options.threads is None and not options.evaluate_only:
        from ppgan_app.engine.checkpoint import load_checkpoint

        threads = _checkpoint_threads(load_checkpoint(options.resume))
        options = dataclasses.replace(options, threads=threads)
    return options


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Parse ``argv`` and train; return the exit code."""
    return run_main(parse, _run, argv, logger.name)


def _run(args: TrainOptions) -> int:
    cfg, name, resume_state = _resolve_config(args)
    if args.dry_run:
        import yaml
        from ppgan_app.utils.config import _plain
        sys.stdout.write(yaml.safe_dump(_plain(cfg), sort_keys=False))
        return EXIT_OK
    import paddle

    device = paddle.get_device().split(":")[0]
    if args.amp and device != "gpu":
        logger.warning("--amp needs a GPU; training on the CPU in float32")
    logger.info("CPU threads per process: %d", args.threads)
    threads = args.threads
    trainer = _build_trainer(cfg, name, amp=args.amp and device == "gpu",
                             train_data=not args.evaluate_only, cpu_threads=threads)
    try:
        return _train_or_evaluate(trainer, args, resume_state)
    finally:
        trainer.close()


def _resolve_config(args: TrainOptions) -> Tuple[Dict[str, Any], str, Optional[Mapping[str, Any]]]:
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


def _train_or_evaluate(trainer: Any, args: TrainOptions,
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


def _checkpoint_threads(state: Optional[Mapping[str, Any]]) -> Optional[int]:
    """The CPU thread count a resumed checkpoint was trained with (None: not recorded): an
    exact resume computes with the same count (float sums depend on it)."""
    threads = state.get("cpu_threads") if isinstance(state, Mapping) else None
    if isinstance(threads, int) and threads > 0:
        logger.info("resuming with the checkpoint's %d CPU thread(s)", threads)
        return threads
    return None


def _one_line(err: BaseException) -> str:
    text = str(err.args[0]) if err.args else str(err)
    if isinstance(err.__cause__, KeyError) and err.__cause__.args:
        text = str(err.__cause__.args[0])
    return " ".join(text.split())

