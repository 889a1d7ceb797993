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
from ppgan_app.apps.fomm_training.export import check_export_config, is_export_dir
from ppgan_app.utils.process import ENGINES, cpu_threads

logger = logging.getLogger(__name__)

ENGINE_CHOICES = ENGINES  # the one engine list (ppgan_app.utils.process)


class FommAnimator:
    """Animates faces with a FOMM engine (see :class:`~ppgan_app.apps.expression_transfer.animator.Animator`).

    Args:
        engine: a :class:`ppgan_app.inference.engines.Engine` (``kp_detector``/``generator``).
        image_size: side ``S`` of the network's square images.
        engine_name: the engine's name (``fast``, ``openvino``, ``dygraph``), as reported.
        precision: the precision it runs (``fp32``, ``bf16``, ``int8``), as reported.
    """

    def __init__(self, engine: Any, image_size: int, engine_name: str = "",
                 precision: str = "fp32") -> None:
        self.engine = engine
        self.image_size = image_size
        self.engine_name = engine_name
        self.precision = precision

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


def _pick_engine(engine: str, device: Optional[str], precision: str = "fp32") -> str:
    """The engine to run: ``engine``, or for ``auto`` the fastest installed one for the device
    (logged with the reason, one line)."""
    import paddle

    from ppgan_app.inference.engines import auto_cpu_engine, engine_installed

    if engine not in ENGINE_CHOICES:
        raise InputError(f"unknown --engine {engine!r}; choose from {', '.join(ENGINE_CHOICES)}")
    on_cpu = (device or paddle.get_device()).startswith("cpu")
    if engine not in ("auto", "dygraph") and not on_cpu:
        raise InputError(f"--engine {engine} runs on the CPU only; use --engine dygraph on GPU")
    if engine not in ("auto", "dygraph") and not engine_installed(engine):
        raise InputError(f"--engine {engine} is not installed; pip install -r requirements.txt "
                         "(or choose --engine auto)")
    if engine != "auto":
        return engine
    if not on_cpu:
        logger.info("--engine auto: dygraph (the only engine for %s)", device or paddle.get_device())
        return "dygraph"
    try:
        name, reason = auto_cpu_engine(precision)
    except ValueError as err:
        raise InputError(f"--precision {precision}: {err}") from None
    logger.info("%s", reason)
    return name


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
                       config: Any = None, threads: Optional[int] = None) -> FommAnimator:
    """A graph engine over a ``tools/export_model.py`` folder (no networks built): the fast
    engine for a Paddle export, OpenVINO for an ONNX one (``engine`` ``auto``)."""
    from ppgan_app.inference.engines import GRAPH_ENGINES, engine_class
    from ppgan_app.inference.export import verify_export

    info = verify_export(Path(folder))
    runs = [name for name, spec in GRAPH_ENGINES.items() if spec.export_format == info.format]
    if engine == "auto":
        engine = runs[0]
    if engine not in runs:
        raise InputError(f"--weight_path {folder} holds {info.format} graphs, which the "
                         f"{' or '.join(runs)} engine runs (CPU), not --engine {engine}; give "
                         "the checkpoint itself for other engines")
    if config is not None:
        check_export_config(folder, config)
    size = info.image_size[0]
    if image_size is not None and image_size != size:
        raise InputError(f"--image_size {image_size}: the export in {folder} takes {size} px "
                         "frames; omit --image_size or export again with --image_size")
    return FommAnimator(engine_class(engine).from_export(folder, threads or cpu_threads()),
                        size, engine)


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
        precision: ``fp32``; ``bf16`` for the fast and OpenVINO engines' decoder, ``int8`` for
            OpenVINO's.
        threads: CPU threads of each graph of a graph engine (``None``: the cores this process
            may use).

    Raises:
        InputError: weights unavailable, checkpoint not fitting, bad engine/device/precision
            choice.
    """
    from ppgan_app.inference.engines import engine_installed, engine_precisions
    from ppgan_app.inference.factory import build_engine
    from ppgan_app.utils.device import set_device
    from ppgan_app.weights.fomm import load_fomm

    if device is not None:
        set_device(device)
    if weight_path is not None and is_export_dir(weight_path):
        if precision != "fp32":
            raise InputError(f"--precision {precision}: an export folder runs fp32; give the "
                             "checkpoint itself for bf16 or int8")
        return _exported_animator(weight_path, image_size, engine, config, threads)
    name = _pick_engine(engine, device, precision)
    if precision not in engine_precisions(name):
        runs = [other for other in ENGINE_CHOICES[1:] if engine_installed(other)
                and precision in engine_precisions(other)]
        raise InputError(f"--precision {precision} needs the {' or '.join(runs) or 'openvino'}"
                         f" engine (CPU){'' if runs else ' with nncf installed'}; this run uses "
                         f"the {name} engine: use --precision fp32 or --engine auto")
    loaded = load_fomm(weight_path, config, image_size, mobile_net)
    cache = _export_cache(loaded.path) if name != "dygraph" else None
    logger.info("FOMM weights %s, %d px, engine %s", loaded.path, loaded.image_size, name)
    engine = build_engine(name, loaded.kp_detector, loaded.generator, cache_dir=cache,
                          config=loaded.config, precision=precision, threads=threads)
    return FommAnimator(engine, loaded.image_size, name, precision)
