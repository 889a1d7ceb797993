"""The engine factory: :func:`build_engine` picks the dygraph engine or a graph engine by name.

It sits above both engines (``engines`` holds the interface and the dygraph engine,
``paddle_inference`` and ``openvino_engine`` the graph engines), so none imports another back.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import paddle

from ppgan_app.inference.engines import ENGINE_NAMES, DygraphEngine, Engine, engine_class
from ppgan_app.utils.process import PRECISIONS, cpu_threads


def build_engine(name: str, kp_detector: paddle.nn.Layer, generator: paddle.nn.Layer,
                 cache_dir: str | Path | None = None, threads: int | None = None,
                 config: Mapping | None = None, precision: str = "fp32") -> Engine:
    """Build the engine called ``name`` for the given networks.

    Args:
        name: ``"dygraph"``, or a graph engine: ``"fast"`` (Paddle Inference + oneDNN) or
            ``"openvino"`` (CPU only).
        kp_detector: keypoint detector layer, weights loaded.
        generator: generator layer, weights loaded.
        cache_dir: where the fast engine keeps its exported graphs (e.g. next to the weights);
            required for ``"fast"``.
        threads: the fast engine's CPU math threads (per predictor; default
            :func:`~ppgan_app.utils.process.cpu_threads`). The dygraph engine runs on the
            process's threads, set by the entry point (:mod:`ppgan_app.utils.process`).
        config: the model configuration; part of the export cache key.
        precision: ``"fp32"``; ``"bf16"`` (fast, openvino) or ``"int8"`` (openvino) change the
            frames slightly (quality gate in docs/performance.md).

    Returns:
        An :class:`Engine`.
    """
    if name not in ENGINE_NAMES:
        raise ValueError(f"unknown engine {name!r}; choose one of {', '.join(ENGINE_NAMES)}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if name == "dygraph":
        if precision != "fp32":
            raise ValueError("the dygraph engine runs fp32 only")
        return DygraphEngine(kp_detector, generator)
    if cache_dir is None:
        raise ValueError(f"the {name} engine needs a cache_dir for its exported graphs")
    return engine_class(name)(kp_detector, generator, cache_dir=cache_dir,  # imported on demand
                              threads=threads or cpu_threads(), config=config,
                              precision=precision)
