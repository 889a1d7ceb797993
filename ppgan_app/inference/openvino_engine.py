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

import importlib.util
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import paddle

from ppgan_app.inference.engines import GRAPH_ENGINES, engine_precisions
from ppgan_app.inference.export import ExportInfo
from ppgan_app.inference.onnx_export import onnx_export_fomm
from ppgan_app.inference.paddle_inference import (LOW_PRECISION_GRAPHS, FastEngine,
                                                  keypoint_arrays)
from ppgan_app.inference.source_cache import DEFAULT_SOURCE_ENTRIES
from ppgan_app.utils.native_output import quiet_native_output

LOG = logging.getLogger(__name__)

HINTS = {"fp32": "f32", "bf16": "bf16", "int8": "f32"}   # INFERENCE_PRECISION_HINT (int8: of
#                                                        # the ops a quantised graph keeps float)
INT8_GRAPH = "decoder_int8.xml"
#: what NNCF prints while it calibrates (progress bars)
NNCF_NOISE = ("Statistics collection", "Applying Fast Bias correction", "━")


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
        precision: ``fp32``, ``bf16`` (the inference precision hint) or ``int8`` (a quantised
            graph).
        threads: CPU threads of this graph's requests.
        cache: folder for compiled blobs (``None``: no cache).
    """
    import openvino as ov

    from ppgan_app.utils.process import cpu_threads

    # pinned threads suit a graph that has the cores to itself; graphs of fewer threads run
    # beside others (live mode: keypoints and two generators, a thread each), and OpenVINO
    # pins each of them to the same first core
    properties = {"INFERENCE_PRECISION_HINT": HINTS[precision], "PERFORMANCE_HINT": "LATENCY",
                  "INFERENCE_NUM_THREADS": int(threads),
                  "ENABLE_CPU_PINNING": int(threads) >= cpu_threads()}
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        properties["CACHE_DIR"] = str(cache)
    model = str(model) if isinstance(model, Path) else model
    return ov.Core().compile_model(model, "CPU", properties)


class OpenVinoRunner:
    """Feeds numpy arrays to one compiled graph by input name; fetches its outputs in order."""

    def __init__(self, compiled: Any, inputs: Sequence[str], outputs: Sequence[str],
                 recompile: Callable[[], Any] | None = None) -> None:
        self.compiled = compiled
        self.recompile = recompile
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

    def twin(self) -> "OpenVinoRunner":
        """A runner for another thread that runs at the same time as this one. A compiled
        graph with the latency hint has one stream, and its requests take turns in it; so the
        twin compiles the graph again (from OpenVINO's blob cache when there is one) and gets
        its own stream. Without ``recompile``: a second request on the same graph."""
        compiled = self.recompile() if self.recompile is not None else self.compiled
        return OpenVinoRunner(compiled, self.input_names, self.output_names, self.recompile)


class OpenVinoEngine(FastEngine):
    """OpenVINO engine (CPU); arguments as :class:`~ppgan_app.inference.paddle_inference.FastEngine`.

    Args:
        compiled_cache: folder for OpenVINO's compiled blobs (``"default"``: the kit cache;
            ``None``: none).
        calibration_frames: driving frames whose decoder inputs calibrate the int8 decoder.
    """

    name = "openvino"
    precisions = engine_precisions("openvino")   # int8 only where NNCF is installed
    export_format = GRAPH_ENGINES["openvino"].export_format

    def __init__(self, kp_detector: paddle.nn.Layer, generator: paddle.nn.Layer,
                 cache_dir: str | Path, threads: int = 2, config: Mapping | None = None,
                 precision: str = "fp32", source_entries: int = DEFAULT_SOURCE_ENTRIES,
                 compiled_cache: Path | None | str = "default",
                 calibration_frames: int = 16) -> None:
        if precision == "int8" and importlib.util.find_spec("nncf") is None:
            raise ValueError("--precision int8 needs NNCF (OpenVINO's quantisation): "
                             "pip install nncf")
        super().__init__(kp_detector, generator, cache_dir=cache_dir, threads=threads,
                         config=config, precision=precision, split_source=True,
                         source_entries=source_entries)
        self.compiled_cache = (compiled_cache_dir() if compiled_cache == "default"
                               else None if compiled_cache is None else Path(compiled_cache))
        self.calibration_frames = int(calibration_frames)

    def _export(self, size: tuple[int, int]) -> tuple[Path, ExportInfo]:
        return onnx_export_fomm(self.kp_net, self.generator_net, self.cache_dir, size,
                                config=self.config, split_decoder=self.precision != "fp32")

    def _load(self, directory: Path, info: ExportInfo, name: str) -> Any:
        precision = self.precision if name in LOW_PRECISION_GRAPHS else "fp32"
        if precision == "int8":
            return self._int8_decoder(directory, info)
        return self._runner_of(directory / f"{name}.onnx", precision, info.graphs[name],
                               info.outputs[name])

    def _runner_of(self, graph: Path, precision: str, inputs: Sequence[str],
                   outputs: Sequence[str]) -> OpenVinoRunner:
        """A runner of ``graph`` compiled for ``precision`` (its twins compile it again)."""
        def compile_it() -> Any:
            return compile_graph(graph, precision, self.threads, self.compiled_cache)

        return OpenVinoRunner(compile_it(), inputs, outputs, recompile=compile_it)

    # --- int8 ------------------------------------------------------------------------------
    def _int8_decoder(self, directory: Path, info: ExportInfo) -> Any:
        """The quantised decoder if cached, else a decoder that calibrates on its first frames."""
        cached = int8_dir(directory) / INT8_GRAPH
        if cached.is_file():
            return self._compiled_int8(cached, info)
        fp32 = OpenVinoRunner(compile_graph(directory / "decoder.onnx", "fp32", self.threads,
                                            self.compiled_cache),
                              info.graphs["decoder"], info.outputs["decoder"])
        return CalibratingRunner(fp32, self.calibration_frames,
                                 lambda samples: self._quantise(directory, info, samples))

    def _compiled_int8(self, path: Path, info: ExportInfo) -> OpenVinoRunner:
        return self._runner_of(path, "int8", info.graphs["decoder"], info.outputs["decoder"])

    def _quantise(self, directory: Path, info: ExportInfo,
                  samples: list[np.ndarray]) -> OpenVinoRunner:
        LOG.info("calibrating the int8 decoder on %d frames (NNCF)", len(samples))
        path = quantise_decoder(directory, samples)
        return self._compiled_int8(path, info)

    def calibrate(self, source: np.ndarray, driving: np.ndarray) -> None:
        """Quantise the int8 decoder now, on ``driving [N,3,H,W]`` frames animating ``source
        [1,3,H,W]`` (both in [0,1]); replaces a decoder quantised earlier."""
        if self.precision != "int8":
            raise ValueError("calibrate() is for --precision int8")
        size = (int(source.shape[2]), int(source.shape[3]))
        info = self.prepare(size)
        directory = self.exports[size][0]
        runners = self._runners[size]
        features = self.source_features(source)
        kp_source = keypoint_arrays(self.kp_detector(source))
        samples = []
        for frame in driving:
            kp_driving = keypoint_arrays(self.kp_detector(frame[None]))
            (deformed,) = runners["motion"](source, features, *kp_source, *kp_driving)
            samples.append(deformed)
        runners["decoder"] = self._quantise(directory, info, samples)


class CalibratingRunner:
    """The decoder in fp32 for its first ``frames`` frames, whose inputs it keeps; then the
    int8 decoder that ``quantise(samples)`` makes from them."""

    def __init__(self, fp32: OpenVinoRunner, frames: int,
                 quantise: Any) -> None:
        self.fp32 = fp32
        self.frames = max(1, int(frames))
        self.quantise = quantise
        self.samples: list[np.ndarray] = []
        self.int8: OpenVinoRunner | None = None
        self.output_names = fp32.output_names

    def __call__(self, deformed: np.ndarray) -> list[np.ndarray]:
        if self.int8 is not None:
            return self.int8(deformed)
        self.samples += [sample[None].copy() for sample in deformed]
        outputs = self.fp32(deformed)
        if len(self.samples) >= self.frames:
            self.int8 = self.quantise(self.samples[:self.frames])
            self.samples = []
        return outputs


def int8_dir(directory: Path) -> Path:
    """Where the int8 decoder of an ONNX export lives (keyed by NNCF's and OpenVINO's versions)."""
    import nncf

    return directory.with_name(f"{directory.name}_int8_nncf{nncf.__version__}_ov"
                               f"{library_version()}")


def quantise_decoder(directory: Path, samples: list[np.ndarray]) -> Path:
    """NNCF post-training quantisation of ``directory/decoder.onnx`` on ``samples`` (decoder
    inputs ``[1,F,h,w]``); the result is published atomically; returns its ``.xml`` path."""
    import nncf
    import openvino as ov

    model = ov.Core().read_model(str(directory / "decoder.onnx"))
    with quiet_native_output(NNCF_NOISE):
        quantised = nncf.quantize(model, nncf.Dataset(samples),
                                  preset=nncf.QuantizationPreset.PERFORMANCE,
                                  subset_size=len(samples))
    final = int8_dir(directory)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        ov.save_model(quantised, str(tmp / INT8_GRAPH))
        shutil.rmtree(final, ignore_errors=True)
        os.rename(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final / INT8_GRAPH
