"""The real :class:`~ppgan_app.apps.expression_transfer.animator.Animator`: FOMM networks behind an inference engine.

Builds the keypoint detector and generator from a config (default: the packaged vox config that
matches ``image_size``/``mobile_net``), loads weights through ``resolve_weights`` and runs them
with an engine from :mod:`ppgan_app.inference`. Keypoint normalisation is
:func:`ppgan_app.modules.normalize_kp.normalize_kp`; nothing here is pipeline I/O.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np

from ppgan_app.apps.errors import InputError
from ppgan_app.apps.fomm_export import check_export_config, is_export_dir

logger = logging.getLogger(__name__)

ENGINE_CHOICES = ("auto", "dygraph", "fast", "openvino")    # engines.ENGINE_NAMES + auto
DEFAULT_IMAGE_SIZE = 256   # the official checkpoints' size, when nothing else says


def default_model(image_size: int, mobile_net: bool) -> Dict[str, str]:
    """Packaged config name and official weight name for a model choice."""
    if mobile_net:
        if image_size != 256:
            raise InputError("--mobile_net exists for --image_size 256 only")
        return {"config": "firstorder_vox_mobile_256", "weights": "vox-mobile"}
    if image_size == 512:
        return {"config": "firstorder_vox_512", "weights": "vox-cpk-512"}
    if image_size == 256:
        return {"config": "firstorder_vox_256", "weights": "vox-cpk"}
    raise InputError(f"--image_size {image_size}: the official models are 256 and 512; "
                     "pass --config and --weight_path for other sizes")


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
        from ppgan_app.modules.normalize_kp import normalize_kp

        kp_norm = normalize_kp(kp_source=kp_source, kp_driving=kp_driving,
                               kp_driving_initial=kp_driving_initial,
                               adapt_movement_scale=adapt_scale, use_relative_movement=relative,
                               use_relative_jacobian=relative)
        return to_numpy(self.engine.generator(source, kp_source, kp_norm))


def _resolve(weight_path: Optional[str], default_name: str) -> Path:
    from ppgan_app.utils.download import resolve_weights

    return Path(resolve_weights(weight_path or default_name))


def check_image_size(image_size: int, cfg: Any) -> None:
    """Refuse, before any work, a frame side the networks of ``cfg`` cannot take.

    Raises:
        InputError: ``image_size`` is not a positive multiple of the architecture's rule.
    """
    from ppgan_app.models.firstorder import fomm_size_multiple

    multiple = fomm_size_multiple(cfg)
    if image_size < multiple or image_size % multiple:
        raise InputError(f"--image_size {image_size}: this architecture takes multiples of "
                         f"{multiple} (e.g. {max(multiple, image_size // multiple * multiple)})")


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


def _checkpoint_state(weights: Path) -> Any:
    """The checkpoint file, loaded once (a read error names the file)."""
    import paddle

    from ppgan_app.errors import CheckpointError

    try:
        return paddle.load(str(weights))
    except (OSError, ValueError, EOFError, RuntimeError) as err:
        raise CheckpointError(f"cannot read weights {weights}: {err}; download them again") from None


def _frame_size(cfg: Any, image_size: Optional[int]) -> int:
    """``image_size`` if given, else the frame size the config trains on, else 256."""
    from ppgan_app.models.firstorder.checkpoint import config_frame_size

    if image_size is not None:
        return image_size
    return config_frame_size(cfg) or DEFAULT_IMAGE_SIZE


def _exported_animator(folder: str, image_size: Optional[int], engine: str,
                       config: Any = None, threads: Optional[int] = None) -> FommAnimator:
    """A graph engine over a ``tools/export_model.py`` folder (no networks built): the fast
    engine for a Paddle export, OpenVINO for an ONNX one (``engine`` ``auto``)."""
    from ppgan_app.inference.engines import GRAPH_ENGINES, default_cpu_threads, engine_class
    from ppgan_app.inference.export import verify_export

    info = verify_export(Path(folder))
    runs = [name for name in GRAPH_ENGINES if engine_class(name).export_format == info.format]
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
    return FommAnimator(engine_class(engine).from_export(folder, threads or default_cpu_threads()),
                        size)


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
        engine: ``auto`` (the first installed of ``engines.CPU_ENGINE_ORDER`` that runs
            ``precision`` on the CPU, dygraph elsewhere), ``dygraph``, ``fast`` or ``openvino``.
        device: ``cpu``/``gpu``/``xpu``; when given, Paddle's (process-wide) device is set.
        precision: ``fp32``; ``bf16`` for the fast and OpenVINO engines' decoder, ``int8`` for
            OpenVINO's.
        threads: CPU threads of each graph of a graph engine (``None``: all cores).

    Raises:
        InputError: weights unavailable, checkpoint not fitting, bad engine/device/precision
            choice.
    """
    from ppgan_app.models.firstorder import (build_fomm_networks, fomm_model_config,
                                             load_fomm_checkpoint, load_fomm_config)
    from ppgan_app.models.firstorder.checkpoint import checkpoint_config
    from ppgan_app.utils.device import set_device

    if device is not None:
        set_device(device)
    from ppgan_app.inference.engines import engine_installed, engine_precisions

    if weight_path is not None and is_export_dir(weight_path):
        if precision != "fp32":
            raise InputError(f"--precision {precision}: an export folder runs fp32; give the "
                             "checkpoint itself for bf16")
        return _exported_animator(weight_path, image_size, engine, config, threads)
    name = _pick_engine(engine, device, precision)
    if precision not in engine_precisions(name):
        runs = [other for other in ENGINE_CHOICES[1:] if engine_installed(other)
                and precision in engine_precisions(other)]
        raise InputError(f"--precision {precision} needs the {' or '.join(runs) or 'openvino'}"
                         f" engine (CPU){'' if runs else ' with nncf installed'}; this run uses "
                         f"the {name} engine: use --precision fp32 or --engine auto")
    state = None
    if weight_path is not None:
        weights = _resolve(weight_path, "")
        if config is None:
            state = _checkpoint_state(weights)
            config = checkpoint_config(state)
    if config is None or weight_path is None:
        choice = default_model(image_size or DEFAULT_IMAGE_SIZE, mobile_net)
        config = config if config is not None else choice["config"]
        weights = _resolve(weight_path, choice["weights"])
    cfg = load_fomm_config(config)
    fomm_model_config(cfg)  # a GAN or other config fails here, naming the problem
    image_size = _frame_size(cfg, image_size)
    check_image_size(image_size, cfg)
    kp_detector, generator = build_fomm_networks(cfg)
    load_fomm_checkpoint(state if state is not None else str(weights), kp_detector, generator)
    from ppgan_app.inference.engines import build_engine

    cache = _export_cache(weights) if name != "dygraph" else None
    logger.info("FOMM weights %s, %d px, engine %s", weights, image_size, name)
    return FommAnimator(build_engine(name, kp_detector, generator, cache_dir=cache, config=cfg,
                                     precision=precision, threads=threads), image_size)
