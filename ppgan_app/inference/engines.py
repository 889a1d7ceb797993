"""Engine interface for FOMM inference and the dygraph engine (the factory is
:func:`ppgan_app.inference.factory.build_engine`).

An engine runs the two networks a predictor needs, on whole batches of frames:

* ``kp_detector(images)``: images ``[N,3,H,W]`` float32 in [0,1] ->
  ``{"value": [N,K,2] in [-1,1], "jacobian": [N,K,2,2]}`` (no ``jacobian`` when the detector
  does not estimate one);
* ``generator(source, kp_source, kp_driving)``: source ``[N,3,H,W]`` (or ``[1,3,H,W]``,
  broadcast), keypoint dicts as above (batch N or 1) -> prediction ``[N,3,H,W]`` in [0,1].

Inputs may be numpy arrays or Paddle tensors; outputs are Paddle tensors. Keypoint
normalisation (relative motion, jacobian transfer) is not an engine's business.
"""
from __future__ import annotations

import abc
import importlib
import importlib.util
import logging
from dataclasses import dataclass, field
from typing import Dict, Mapping, Tuple, Union

import numpy as np
import paddle

from ppgan_app.utils.process import ENGINES

LOG = logging.getLogger(__name__)

ArrayLike = Union[np.ndarray, paddle.Tensor]
KeypointDict = Mapping[str, ArrayLike]

@dataclass(frozen=True)
class GraphEngineSpec:
    """What the kit knows of a graph engine without importing it (importing OpenVINO into a
    process that later forks Paddle DataLoader workers crashes them, see CPU_ENGINE_ORDER)."""

    target: str                       # ``module:Class``: ``Class(kp_detector, generator,
    #                                   cache_dir=, threads=, config=, precision=)`` and
    #                                   ``Class.from_export(folder, threads)``
    library: str                      # the library it needs installed
    export_format: str                # the export folders it runs (ExportInfo.format)
    precisions: Tuple[str, ...]       # the precisions it runs ...
    needs: Mapping[str, str] = field(default_factory=dict)  # ... some with one more library


#: engines that run exported graphs on the CPU; a new one registers here.
GRAPH_ENGINES: Dict[str, GraphEngineSpec] = {
    "fast": GraphEngineSpec("ppgan_app.inference.paddle_inference:FastEngine", "paddle.inference",
                            "paddle", ("fp32", "bf16")),
    "openvino": GraphEngineSpec("ppgan_app.inference.openvino_engine:OpenVinoEngine", "openvino",
                                "onnx", ("fp32", "bf16", "int8"), {"int8": "nncf"}),
}
ENGINE_NAMES = tuple(e for e in ENGINES if e != "auto")  # the engines themselves
#: ``--engine auto`` takes the first one installed that runs the precision asked for. openvino
#: needs 1.2-2.5x less CPU time per frame (docs/performance.md) but is not first yet: a process
#: that ran it and then forks Paddle DataLoader workers dies of a SIGSEGV that Paddle's SIGCHLD
#: handler re-raises (tests/engine after tests/apps in one pytest process); flip the order once
#: the training loader no longer forks after OpenVINO started.
CPU_ENGINE_ORDER = ("fast", "openvino", "dygraph")
#: ``--engine auto`` of a process that never forks training workers (the web server): the
#: fastest first.
SERVING_ENGINE_ORDER = ("openvino", "fast", "dygraph")


class Engine(abc.ABC):
    """Runs a FOMM keypoint detector and generator; see the module docstring for shapes."""

    name: str = "engine"

    @abc.abstractmethod
    def kp_detector(self, images: ArrayLike) -> dict[str, paddle.Tensor]:
        """Keypoints of ``images`` ``[N,3,H,W]`` float32 in [0,1].

        Returns:
            ``{"value": [N,K,2], "jacobian": [N,K,2,2]}`` (``jacobian`` only if estimated).
        """

    @abc.abstractmethod
    def generator(self, source: ArrayLike, kp_source: KeypointDict,
                  kp_driving: KeypointDict) -> paddle.Tensor:
        """Animate ``source`` ``[N|1,3,H,W]`` in [0,1] from ``kp_source`` to ``kp_driving``.

        Returns:
            prediction ``[N,3,H,W]`` float32 in [0,1], N = batch of ``kp_driving``.
        """


def to_tensor(array: ArrayLike) -> paddle.Tensor:
    """A float32 Paddle tensor from a numpy array or tensor (tensors pass through)."""
    if isinstance(array, paddle.Tensor):
        return array if array.dtype == paddle.float32 else array.astype("float32")
    return paddle.to_tensor(np.ascontiguousarray(array, dtype=np.float32))


def to_numpy(array: ArrayLike) -> np.ndarray:
    """A C-contiguous float32 numpy array from a numpy array or tensor."""
    if isinstance(array, paddle.Tensor):
        array = array.numpy()
    return np.ascontiguousarray(array, dtype=np.float32)


def check_images(images: ArrayLike, what: str = "images") -> None:
    """Raise ``ValueError`` unless ``images`` is ``[N,3,H,W]``-shaped."""
    shape = tuple(images.shape)
    if len(shape) != 4:
        raise ValueError(f"{what} must be [N,C,H,W], got shape {shape}")


def batch_size_of(kp: KeypointDict) -> int:
    """N of a keypoint dict (``value`` ``[N,K,2]``)."""
    shape = tuple(kp["value"].shape)
    if len(shape) != 3 or shape[-1] != 2:
        raise ValueError(f"keypoint value must be [N,K,2], got shape {shape}")
    return int(shape[0])


class DygraphEngine(Engine):
    """Runs the Paddle layers directly (eval mode, no autograd), on whatever device they live on.

    Args:
        kp_detector: the keypoint detector layer (PaddleGAN's ``KPDetector`` interface).
        generator: the generator layer (``forward(source_image, kp_driving, kp_source)`` returning
            a dict with ``prediction``).
    """

    name = "dygraph"

    def __init__(self, kp_detector: paddle.nn.Layer, generator: paddle.nn.Layer) -> None:
        self.kp_net = kp_detector
        self.generator_net = generator
        self.kp_net.eval()
        self.generator_net.eval()

    def kp_detector(self, images: ArrayLike) -> dict[str, paddle.Tensor]:
        check_images(images)
        with paddle.no_grad():
            out = self.kp_net(to_tensor(images))
        return {key: out[key] for key in ("value", "jacobian") if key in out}

    def generator(self, source: ArrayLike, kp_source: KeypointDict,
                  kp_driving: KeypointDict) -> paddle.Tensor:
        check_images(source, "source")
        n = batch_size_of(kp_driving)
        source_t = broadcast_batch(to_tensor(source), n)
        kp_s = {key: broadcast_batch(to_tensor(value), n) for key, value in kp_source.items()}
        kp_d = {key: to_tensor(value) for key, value in kp_driving.items()}
        with paddle.no_grad():
            out = self.generator_net(source_image=source_t, kp_driving=kp_d, kp_source=kp_s)
        return out["prediction"]


def broadcast_batch(tensor: paddle.Tensor, n: int) -> paddle.Tensor:
    """Repeat a batch-1 tensor to batch ``n``; a batch-``n`` tensor passes through."""
    batch = int(tensor.shape[0])
    if batch == n:
        return tensor
    if batch != 1:
        raise ValueError(f"batch {batch} does not match the driving batch {n}")
    return paddle.expand(tensor, [n] + list(tensor.shape[1:]))


def engine_class(name: str) -> type:
    """The class of the graph engine ``name`` (imports its module)."""
    module, _, cls = GRAPH_ENGINES[name].target.partition(":")
    return getattr(importlib.import_module(module), cls)


def engine_installed(name: str) -> bool:
    """Whether the library that the engine ``name`` needs is installed (nothing is imported)."""
    if name == "dygraph":
        return True
    return library_installed(GRAPH_ENGINES[name].library)


def library_installed(library: str) -> bool:
    """Whether ``library`` can be imported (nothing is imported)."""
    try:
        return importlib.util.find_spec(library) is not None
    except ModuleNotFoundError:          # a parent package is missing
        return False


def engine_precisions(name: str) -> tuple[str, ...]:
    """The precisions the engine ``name`` runs here (those needing a missing library left out;
    nothing is imported)."""
    if name == "dygraph":
        return ("fp32",)
    spec = GRAPH_ENGINES[name]
    return tuple(p for p in spec.precisions if p not in spec.needs
                 or library_installed(spec.needs[p]))


def auto_cpu_engine(precision: str = "fp32",
                    order: Tuple[str, ...] = CPU_ENGINE_ORDER) -> tuple[str, str]:
    """``(name, reason)``: the first installed CPU engine of ``order`` that runs
    ``precision``."""
    skipped = []
    for name in order:
        if not engine_installed(name):
            skipped.append(f"{name} not installed")
        elif precision not in engine_precisions(name):
            skipped.append(f"{name} has no {precision}")
        else:
            why = "; ".join(skipped) or ("the fastest CPU engine" if name == "openvino" else
                                         "the default CPU engine; --engine openvino is faster")
            return name, f"--engine auto: {name} ({why})"
    raise ValueError(f"no installed engine runs precision {precision}")
