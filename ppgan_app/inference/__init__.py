"""Inference engines for the First Order Motion Model (keypoint detector + generator).

Three engines share one interface (:class:`~ppgan_app.inference.engines.Engine`):

* ``dygraph``: runs the Paddle layers directly (the natural choice on GPU);
* ``fast``: exports both networks once to static graphs (cached next to the weights) and
  runs them with Paddle Inference + oneDNN on the CPU (about 4x faster there);
* ``openvino``: the same graphs converted to ONNX (``paddle2onnx``) and compiled by OpenVINO
  (CPU; about 2x fewer CPU ms per frame than ``fast``, see docs/performance.md).

Build one with :func:`build_engine`. Importing this package imports nothing heavy and changes
no global state; entry points call :func:`ppgan_app.utils.cpu_env.apply_cpu_env` before
``paddle`` is imported for the recommended CPU environment.
"""
from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "Engine": "ppgan_app.inference.engines",
    "DygraphEngine": "ppgan_app.inference.engines",
    "build_engine": "ppgan_app.inference.factory",
    "ENGINE_NAMES": "ppgan_app.inference.engines",
    "FastEngine": "ppgan_app.inference.paddle_inference",
    "OpenVinoEngine": "ppgan_app.inference.openvino_engine",
    "export_fomm": "ppgan_app.inference.export",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    """Import the public names on first use, so that ``import ppgan_app.inference`` stays cheap."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)
