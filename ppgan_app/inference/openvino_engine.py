"""The OpenVINO engine: the fast engine's graphs, converted to ONNX, compiled by OpenVINO (CPU).

The graphs are the ones the fast engine runs (same export, same rewrites, same once-per-source
encoder; :mod:`ppgan_app.inference.onnx_export` converts them), so only the runtime differs:

* ``fp32``: every graph in float32;
* ``bf16``: the generator is split into ``motion`` (dense motion network, feature warp,
  occlusion) and ``decoder``; only the decoder runs with OpenVINO's bfloat16 hint, the keypoint
  detector, the source encoder and the motion stay float32 (bfloat16 there moves pixels);

Compiled graphs are cached by OpenVINO in the kit cache (``<cache>/openvino/<version>``); its
blob key covers the graph file (weights, image size), the precision and the device, and the
folder name the OpenVINO version.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import paddle

from ppgan_app.inference.export import ExportInfo
from ppgan_app.inference.onnx_export import onnx_export_fomm
from ppgan_app.inference.paddle_inference import LOW_PRECISION_GRAPHS, FastEngine
from ppgan_app.inference.source_cache import DEFAULT_SOURCE_ENTRIES

LOG = logging.getLogger(__name__)

PRECISIONS = ("fp32", "bf16")
HINTS = {"fp32": "f32", "bf16": "bf16"}          # OpenVINO's INFERENCE_PRECISION_HINT


def library_version() -> str:
    """OpenVINO's version (part of the compiled-graph cache folder)."""
    import openvino

    return openvino.__version__.split("-")[0]


def compiled_cache_dir() -> Path:
    """Where OpenVINO keeps compiled graphs: ``<kit cache>/openvino/<version>``."""
    from ppgan_app.utils.download import cache_dir

    return cache_dir() / "openvino" / library_version()


def compile_graph(model: Any, precision: str, threads: int, cache: Path | None) -> Any:
    """An OpenVINO compiled model for the CPU.

    Args:
        model: path of an ``.onnx`` file, or an ``openvino.Model``.
        precision: ``fp32`` or ``bf16`` (the inference precision hint).
        threads: CPU threads of this graph's requests.
        cache: folder for compiled blobs (``None``: no cache).
    """
    import openvino as ov

    properties = {"INFERENCE_PRECISION_HINT": HINTS[precision], "PERFORMANCE_HINT": "LATENCY",
                  "INFERENCE_NUM_THREADS": int(threads)}
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        properties["CACHE_DIR"] = str(cache)
    model = str(model) if isinstance(model, Path) else model
    return ov.Core().compile_model(model, "CPU", properties)


class OpenVinoRunner:
    """Feeds numpy arrays to one compiled graph by input name; fetches its outputs in order."""

    def __init__(self, compiled: Any, inputs: Sequence[str], outputs: Sequence[str]) -> None:
        self.request = compiled.create_infer_request()
        self.input_names = list(inputs)
        self.output_names = list(outputs)
        graph_inputs = sorted(port.get_any_name() for port in compiled.inputs)
        if graph_inputs != sorted(self.input_names):
            raise RuntimeError(f"graph inputs {graph_inputs} != expected {self.input_names}")
        if len(compiled.outputs) != len(self.output_names):
            raise RuntimeError(f"graph has {len(compiled.outputs)} outputs, expected "
                               f"{len(self.output_names)}")

    def __call__(self, *arrays: np.ndarray) -> list[np.ndarray]:
        feeds = {name: np.ascontiguousarray(array, dtype=np.float32)
                 for name, array in zip(self.input_names, arrays, strict=True)}
        self.request.infer(feeds)
        return [self.request.get_output_tensor(i).data.copy()
                for i in range(len(self.output_names))]


class OpenVinoEngine(FastEngine):
    """OpenVINO engine (CPU); arguments as :class:`~ppgan_app.inference.paddle_inference.FastEngine`.

    Args:
        compiled_cache: folder for OpenVINO's compiled blobs (``"default"``: the kit cache;
            ``None``: none).
    """

    name = "openvino"
    precisions = PRECISIONS
    export_format = "onnx"

    def __init__(self, kp_detector: paddle.nn.Layer, generator: paddle.nn.Layer,
                 cache_dir: str | Path, threads: int = 2, config: Mapping | None = None,
                 precision: str = "fp32", source_entries: int = DEFAULT_SOURCE_ENTRIES,
                 compiled_cache: Path | None | str = "default") -> None:
        super().__init__(kp_detector, generator, cache_dir=cache_dir, threads=threads,
                         config=config, precision=precision, split_source=True,
                         source_entries=source_entries)
        self.compiled_cache = (compiled_cache_dir() if compiled_cache == "default"
                               else None if compiled_cache is None else Path(compiled_cache))

    def _export(self, size: tuple[int, int]) -> tuple[Path, ExportInfo]:
        return onnx_export_fomm(self.kp_net, self.generator_net, self.cache_dir, size,
                                config=self.config, split_decoder=self.precision != "fp32")

    def _load(self, directory: Path, info: ExportInfo, name: str) -> OpenVinoRunner:
        precision = self.precision if name in LOW_PRECISION_GRAPHS else "fp32"
        compiled = compile_graph(directory / f"{name}.onnx", precision, self.threads,
                                 self.compiled_cache)
        return OpenVinoRunner(compiled, info.graphs[name], info.outputs[name])
