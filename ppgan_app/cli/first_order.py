"""Command line for expression transfer: ``applications/tools/first-order-demo.py``.

Flag names and meanings follow PaddleGAN's ``first-order-demo.py``. Flags left unset fall through
to :class:`ppgan_app.apps.FirstOrderPredictor`'s defaults (the one place they are defined).
"""
from __future__ import annotations

import argparse
import inspect
import logging
import os
import sys
from typing import Any, Dict, List, Optional

logger = logging.getLogger("ppgan_app.first_order")

#: CLI-only options that are not predictor arguments.
_CLI_ONLY = ("source_image", "driving_video", "cpu", "quiet", "verbose")


def _default(name: str) -> Any:
    from ppgan_app.apps.first_order_predictor import FirstOrderPredictor

    return inspect.signature(FirstOrderPredictor.__init__).parameters[name].default


def build_parser() -> argparse.ArgumentParser:
    """The demo's argument parser (unset options are absent from the namespace)."""
    p = argparse.ArgumentParser(
        prog="first-order-demo.py", argument_default=argparse.SUPPRESS,
        description="Animate the face(s) of a portrait with the motion of a driving video "
                    "(First Order Motion Model). Without --source_image/--driving_video the "
                    "bundled sample is used.")
    p.add_argument("--config", help="architecture YAML (default: the config a kit-trained "
                                    "checkpoint carries, else the packaged vox-256 config)")
    p.add_argument("--weight_path", help="checkpoint file or name (default: the official "
                                         "checkpoint, downloaded once)")
    p.add_argument("--source_image", help="portrait to animate (default: bundled sample)")
    p.add_argument("--driving_video", help="video whose face motion is transferred "
                                           "(default: bundled sample)")
    p.add_argument("--output", help=f"output folder (default: {_default('output')})")
    p.add_argument("--filename", help=f"output file name (default: {_default('filename')})")
    p.add_argument("--relative", action="store_true",
                   help="relative keypoint motion (recommended)")
    p.add_argument("--adapt_scale", action="store_true",
                   help="scale the motion by the ratio of keypoint convex-hull areas")
    p.add_argument("--find_best_frame", action="store_true",
                   help="measure motion from the driving frame whose face pose is closest to the "
                        "source's (needs dlib's 68-point landmark model)")
    p.add_argument("--best_frame", type=int, help="measure motion from this driving frame")
    p.add_argument("--cpu", action="store_true", help="run on the CPU (same as --device cpu)")
    p.add_argument("--device", choices=["cpu", "gpu", "xpu"],
                   help="device to run on (default: Paddle's default)")
    p.add_argument("--engine", choices=["auto", "dygraph", "fast"],
                   help=f"inference engine (default: {_default('engine')}: the fast Paddle "
                        "Inference path on CPU when available, else dygraph)")
    p.add_argument("--ratio", type=float,
                   help="radius of the pasted face region as a fraction of the face crop's "
                        f"height, 0.4-0.5 (default: {_default('ratio')})")
    p.add_argument("--face_detector", help=f"dlib (default), yunet; sfd/blazeface are not built")
    p.add_argument("--multi_person", action="store_true", help="animate every detected face")
    p.add_argument("--image_size", type=int,
                   help="network input size: 256, or 512 for the 512 model (default: the "
                        "size a kit-trained checkpoint or --config was trained on, else 256)")
    p.add_argument("--batch_size", type=int,
                   help=f"driving frames per network call (default: {_default('batch_size')})")
    p.add_argument("--face_enhancement", action="store_true",
                   help="GPEN face restoration (not available yet)")
    p.add_argument("--mobile_net", action="store_true", help="the small distilled model")
    p.add_argument("--slice_size", type=int,
                   help="driving frames held in memory at once (default: 0 = 16)")
    p.add_argument("--audio", action=argparse.BooleanOptionalAction,
                   help="keep the driving video's sound track (default: yes, when it has one)")
    p.add_argument("--crop_driving", action="store_true",
                   help="crop a stable square around the driving face before animation")
    p.add_argument("--no_face_ok", action="store_true",
                   help="animate the whole source image when no face is found in it")
    p.add_argument("--quiet", action="store_true", help="no progress bar, warnings only")
    p.add_argument("--verbose", action="store_true",
                   help="debug logging (e.g. every mismatched key of a checkpoint)")
    return p


def predictor_kwargs(args: argparse.Namespace) -> Dict[str, Any]:
    """Map parsed flags to :class:`FirstOrderPredictor` keyword arguments (only those set).

    Raises:
        InputError: contradictory flags (``--cpu`` with ``--device gpu``).
    """
    from ppgan_app.apps.errors import InputError

    kwargs = {k: v for k, v in vars(args).items() if k not in _CLI_ONLY}
    if getattr(args, "cpu", False):
        if kwargs.get("device", "cpu") != "cpu":
            raise InputError(f"--cpu contradicts --device {kwargs['device']}")
        kwargs["device"] = "cpu"
    if getattr(args, "quiet", False):
        kwargs["progress"] = False
    return kwargs


def _setup_runtime(device: Optional[str]) -> None:
    """Process-wide settings, made here and not at import: threads, device.

    The MKL variables were set by ``run_cli`` before Paddle loaded. No OMP_NUM_THREADS: the fast
    engine sets its own threads (403 vs 436 ms/frame in bench_fomm.py with OMP_NUM_THREADS=1)
    and Paddle prints a misleading data-parallel warning when it is above 1.
    """
    import paddle

    from ppgan_app.utils.device import set_device

    if device is not None:
        set_device(device)  # a GPU asked of a CPU build is an input error
    paddle.base.core.set_num_threads(os.cpu_count() or 1)  # dygraph uses one thread otherwise


def main(argv: Optional[List[str]] = None) -> int:
    """Run the demo; return the exit code (see :mod:`ppgan_app.errors`: 0 ok, 1 fault,
    2 bad input or options, 130 Ctrl-C, 143 SIGTERM)."""
    from ppgan_app.cli.common import run_cli

    args = build_parser().parse_args(argv)
    level = (logging.DEBUG if getattr(args, "verbose", False) else
             logging.WARNING if getattr(args, "quiet", False) else logging.INFO)
    logging.basicConfig(level=level, format="%(message)s")
    return run_cli(lambda: _run(args), logger_name=logger.name)


def _run(args: argparse.Namespace) -> int:
    from ppgan_app.apps.first_order_predictor import FirstOrderPredictor

    kwargs = predictor_kwargs(args)
    _setup_runtime(kwargs.get("device"))  # before the predictor imports Paddle's MKL
    predictor = FirstOrderPredictor(**kwargs)  # checks every option before any work
    summary = predictor.run_with_summary(getattr(args, "source_image", None),
                                         getattr(args, "driving_video", None))
    print(f"wrote {summary.path}: {summary.frames} frames at {summary.fps:g} fps in "
          f"{summary.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
