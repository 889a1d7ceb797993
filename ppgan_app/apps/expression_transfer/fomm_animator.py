"""The real :class:`~ppgan_app.apps.expression_transfer.animator.Animator`: FOMM networks behind an inference engine.

Loads the keypoint detector and generator with :func:`ppgan_app.weights.fomm.load_fomm` (the
checkpoint's own config, or the packaged vox config that matches ``image_size``/``mobile_net``)
and runs them with an engine from :mod:`ppgan_app.inference`. Keypoint normalisation is
:func:`ppgan_app.models.firstorder.normalize_kp.normalize_kp`; nothing here is pipeline I/O.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np

from ppgan_app.errors import InputError
from ppgan_app.apps.fomm_training.export import is_export_dir
from ppgan_app.utils.process import ENGINES, cpu_threads

logger = logging.getLogger(__name__)

ENGINE_CHOICES = ENGINES  # the one engine list (ppgan_app.utils.process)


class FommAnimator:
    """Animates faces with a FOMM engine (see :class:`~ppgan_app.apps.expression_transfer.animator.Animator`).

    Args:
        engine: a :class:`ppgan_app.inference.engines.Engine` (``kp_detector``/``generator``).
        image_size: side ``S`` of the network's square images.
    """

    def __init__(self, engine: Any, image_size: int) -> None:
        self.engine = engine
        self.image_size = image_size

    def keypoints(self, frames: np.ndarray) -> Dict[str, Any]:
        """``frames [N,3,S,S] float32 in [0,1]`` →
        ``{"value": [N,K,2] in [-1,1], "jacobian": [N,K,2,2]}``."""
        return self.engine.kp_detector(frames)

    def animate(self, source: np.ndarray, kp_source: Dict[str, Any], kp_driving: Dict[str, Any],
                kp_driving_initial: Dict[str, Any], *, relative: bool,
                adapt_scale: bool) -> np.ndarray:
        """``source [1,3,S,S]`` moved by the driving keypoints →
        ``[N,3,S,S] float32 in [0,1]``."""
        from ppgan_app.inference.engines import to_numpy
        from ppgan_app.models.firstorder.normalize_kp import normalize_kp

        kp_norm = normalize_kp(kp_source=kp_source, kp_driving=kp_driving,
                               kp_driving_initial=kp_driving_initial,
                               adapt_movement_scale=adapt_scale, use_relative_movement=relative,
                               use_relative_jacobian=relative)
        return to_numpy(self.engine.generator(source, kp_source, kp_norm))


def _pick_engine(engine: str, device: Optional[str]) -> str:
    import paddle

    if engine not in ENGINE_CHOICES:
        raise InputError(f"unknown --engine {engine!r}; choose from {', '.join(ENGINE_CHOICES)}")
    on_cpu = (device or paddle.get_device()).startswith("cpu")
    if engine == "fast" and not on_cpu:
        raise InputError("--engine fast runs on the CPU only; use --engine dygraph on GPU")
    if engine != "auto":
        return engine
    if not on_cpu:
        return "dygraph"
    try:
        import ppgan_app.inference.paddle_inference  # noqa: F401
    except ImportError:
        logger.info("fast engine not available; using dygraph")
        return "dygraph"
    return "fast"


def _export_cache(weights: Path) -> Path:
    """Folder for the fast engine's exported graphs: next to the weights, else the user cache."""
    folder = weights.parent / "inference"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if os.access(folder, os.W_OK):
            return folder
    except OSError:
        pass
    from ppgan_app.utils.download import cache_dir

    return cache_dir() / "inference"


def _exported_animator(folder: str, image_size: Optional[int], engine: str,
                       threads: Optional[int] = None) -> FommAnimator:
    """The fast engine over a ``tools/export_model.py`` folder (no networks built)."""
    from ppgan_app.inference.export import ExportInfo
    from ppgan_app.inference.paddle_inference import FastEngine

    if engine != "fast":
        raise InputError(f"--weight_path {folder} holds exported graphs, which only the fast "
                         "engine runs (CPU); give the checkpoint itself for --engine dygraph")
    size = ExportInfo.load(Path(folder)).image_size[0]
    if image_size is not None and image_size != size:
        raise InputError(f"--image_size {image_size}: the export in {folder} takes {size} px "
                         "frames; omit --image_size or export again with --image_size")
    return FommAnimator(FastEngine.from_export(folder, threads or cpu_threads()), size)


def build_fomm_animator(config: Any = None, weight_path: Optional[str] = None,
                        image_size: Optional[int] = None, mobile_net: bool = False,
                        engine: str = "auto", device: Optional[str] = None,
                        precision: str = "fp32", threads: Optional[int] = None) -> FommAnimator:
    """Build networks, load weights and wrap them in an engine.

    A training checkpoint of this kit carries its config: given as ``weight_path`` without
    ``config``, it rebuilds its own architecture and frame size. A ``tools/export_model.py``
    folder as ``weight_path`` runs its graphs directly (fast engine).

    Args:
        config: YAML path, packaged config name or dict; ``None`` = the checkpoint's own
            config, else the default for the choice.
        weight_path: checkpoint path or known name; ``None`` = the official checkpoint.
        image_size: network input side; ``None`` = the config's training frame size
            (``dataset.train.frame_shape``), else 256.
        mobile_net: the small distilled model (default config and weights).
        engine: ``auto`` (fast on CPU when available), ``dygraph`` or ``fast``.
        device: ``cpu``/``gpu``/``xpu``; when given, Paddle's (process-wide) device is set.
        precision: ``fp32``, or ``bf16`` for the fast engine's generator.
        threads: the fast engine's CPU threads (``None``: the cores this process may use).

    Raises:
        InputError: weights unavailable, checkpoint not fitting, bad engine/device/precision
            choice.
    """
    from ppgan_app.inference.factory import build_engine
    from ppgan_app.utils.device import set_device
    from ppgan_app.weights.fomm import load_fomm

    if device is not None:
        set_device(device)
    name = _pick_engine(engine, device)
    if precision != "fp32" and name != "fast":
        raise InputError(f"--precision {precision} needs the fast engine (CPU); this run uses "
                         f"the {name} engine: use --precision fp32 or --engine fast")
    if weight_path is not None and is_export_dir(weight_path):
        return _exported_animator(weight_path, image_size, name, threads)
    loaded = load_fomm(weight_path, config, image_size, mobile_net)
    cache = _export_cache(loaded.path) if name == "fast" else None
    logger.info("FOMM weights %s, %d px, engine %s", loaded.path, loaded.image_size, name)
    engine = build_engine(name, loaded.kp_detector, loaded.generator, cache_dir=cache,
                          config=loaded.config, precision=precision, threads=threads)
    return FommAnimator(engine, loaded.image_size)
