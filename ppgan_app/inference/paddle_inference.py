"""The fast CPU engine: exported static graphs run by Paddle Inference with oneDNN.

Graphs are exported lazily, for the image size of the first call, and cached on disk (see
:mod:`ppgan_app.inference.export`). The generator's source encoder runs once per distinct
source image; every driving frame then costs the keypoint detector plus the rest of the
generator.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import paddle
from paddle import inference as paddle_infer

from ppgan_app.errors import CheckpointError
from ppgan_app.inference.engines import (GRAPH_ENGINES, ArrayLike, Engine, KeypointDict,
                                         batch_size_of, check_images, to_numpy)
from ppgan_app.inference.export import (ExportInfo, describe, export_fomm, graph_files,
                                        verify_export)
from ppgan_app.inference.source_cache import DEFAULT_SOURCE_ENTRIES, SourceCache

LOG = logging.getLogger(__name__)

LOW_PRECISION_GRAPHS = ("decoder", "generator")    # graphs that run in ``precision``


def make_predictor(model_file: Path, params_file: Path, threads: int,
                   precision: str = "fp32", onednn: bool = True) -> paddle_infer.Predictor:
    """A CPU Paddle Inference predictor for one exported graph.

    Args:
        model_file: ``.json`` (PIR) or ``.pdmodel`` graph.
        params_file: its ``.pdiparams``.
        threads: CPU math threads (OpenMP threads of oneDNN / MKL).
        precision: ``"fp32"`` or ``"bf16"`` (oneDNN bfloat16 kernels where available).
        onednn: use oneDNN kernels (False: Paddle's plain CPU kernels, for comparison).
    """
    if precision not in GRAPH_ENGINES["fast"].precisions:
        raise ValueError(f"precision must be one of {GRAPH_ENGINES['fast'].precisions}, "
                         f"got {precision!r}")
    config = paddle_infer.Config(str(model_file), str(params_file))
    config.disable_gpu()
    config.switch_ir_optim(True)
    # Paddle Inference 3.3's inplace pass lets some ops (floor, remainder, ...) overwrite an
    # input that a later op still reads; x - floor(x) then comes out as 0. Correctness first.
    config.delete_pass("inplace_pass")
    # Its transpose + reshape fusion mistypes the graph for a dynamic batch (the phase
    # interleave of the mobile up blocks: "type tensor<-1x256x4x4> ... must be equal").
    config.delete_pass("operator_reshape_onednn_fuse_pass")
    config.set_cpu_math_library_num_threads(int(threads))
    config.disable_glog_info()
    if onednn:
        config.enable_onednn()
        if precision == "bf16":
            # the whole graph: Paddle 3.3's PIR predictor ignores set_bfloat16_op (an empty
            # set gives the same frames), so what must stay fp32 needs a graph of its own
            config.enable_onednn_bfloat16()
    else:                                  # Paddle 3 enables oneDNN on CPU by default
        config.disable_onednn()
        if precision != "fp32":
            raise ValueError("bf16 needs oneDNN")
    return paddle_infer.create_predictor(config)


class GraphRunner:
    """Feeds numpy arrays to one predictor by input name and fetches its outputs in order."""

    def __init__(self, predictor: paddle_infer.Predictor, inputs: Sequence[str],
                 outputs: Sequence[str]) -> None:
        self.predictor = predictor
        self.input_names = list(inputs)
        self.output_names = list(outputs)
        self._check_names()

    def _check_names(self) -> None:
        graph_inputs = list(self.predictor.get_input_names())
        if sorted(graph_inputs) != sorted(self.input_names):
            raise RuntimeError(f"exported graph inputs {graph_inputs} != "
                               f"expected {self.input_names}")
        if len(self.predictor.get_output_names()) != len(self.output_names):
            raise RuntimeError(f"exported graph has outputs {self.predictor.get_output_names()}, "
                               f"expected {len(self.output_names)}")

    def __call__(self, *arrays: np.ndarray) -> list[np.ndarray]:
        for name, array in zip(self.input_names, arrays, strict=True):
            handle = self.predictor.get_input_handle(name)
            handle.reshape(list(array.shape))
            handle.copy_from_cpu(np.ascontiguousarray(array, dtype=np.float32))
        self.predictor.run()
        return [self.predictor.get_output_handle(name).copy_to_cpu()
                for name in self.predictor.get_output_names()]

    def twin(self) -> "GraphRunner":
        """A runner over the same weights with its own predictor state (another thread)."""
        return GraphRunner(self.predictor.clone(), self.input_names, self.output_names)


def repeat_batch(array: np.ndarray, n: int, what: str = "input") -> np.ndarray:
    """Repeat a batch-1 array to batch ``n``; a batch-``n`` array passes through."""
    if array.shape[0] == n:
        return array
    if array.shape[0] != 1:
        raise ValueError(f"{what} batch {array.shape[0]} does not match the driving batch {n}")
    return np.repeat(array, n, axis=0)


def keypoint_arrays(kp: KeypointDict) -> list[np.ndarray]:
    """``[value [N,K,2], jacobian [N,K,2,2]]`` as float32 arrays; identity jacobians if absent."""
    value = to_numpy(kp["value"])
    if "jacobian" in kp:
        return [value, to_numpy(kp["jacobian"])]
    eye = np.broadcast_to(np.eye(2, dtype=np.float32), value.shape[:2] + (2, 2))
    return [value, np.ascontiguousarray(eye)]


class FastEngine(Engine):
    """Paddle Inference + oneDNN engine (CPU).

    Args:
        kp_detector: keypoint detector layer, weights loaded (used only to export).
        generator: generator layer, weights loaded (used only to export).
        cache_dir: folder for exported graphs (e.g. next to the weights).
        threads: CPU math threads per predictor.
        config: the model configuration (part of the export cache key).
        precision: ``"fp32"`` or ``"bf16"``: with ``split_source`` only the generator's decoder
            runs in bfloat16; the keypoint detector, the source encoder and the motion (dense
            motion network, feature warp, occlusion) stay float32 (bfloat16 there moves
            pixels: 37.6 dB on vox-256 against 64.8 dB for the decoder alone).
        split_source: run the generator's source encoder once per source image.
        optimize: export with the rewrites (False: the networks as written, for comparison).
        source_entries: encoded source images kept (one per face of a multi-person run).
    """

    name = "fast"
    precisions = GRAPH_ENGINES["fast"].precisions
    export_format = GRAPH_ENGINES["fast"].export_format   # the graphs it runs (ExportInfo.format)

    def __init__(self, kp_detector: paddle.nn.Layer, generator: paddle.nn.Layer,
                 cache_dir: str | Path, threads: int = 2, config: Mapping | None = None,
                 precision: str = "fp32", split_source: bool = True,
                 optimize: bool = True,
                 source_entries: int = DEFAULT_SOURCE_ENTRIES) -> None:
        if precision not in self.precisions:
            raise ValueError(f"the {self.name} engine runs precision {', '.join(self.precisions)}"
                             f", not {precision!r}")
        self.kp_net = kp_detector
        self.generator_net = generator
        self.cache_dir = Path(cache_dir)
        self.threads = int(threads)
        self.config = config
        self.precision = precision
        self.split_source = split_source
        self.optimize = optimize
        self.exports: dict[tuple, tuple[Path, ExportInfo]] = {}
        self._runners: dict[tuple, dict[str, GraphRunner]] = {}
        self.source_cache = SourceCache(source_entries)

    @classmethod
    def from_export(cls, directory: str | Path, threads: int = 2) -> "FastEngine":
        """An engine over graphs already exported (``tools/export_model.py``), without the
        networks: it runs the export's image size only (fp32).

        Raises:
            CheckpointError: the folder is damaged (see :func:`verify_export`) or holds graphs
                of another format than this engine's.
        """
        directory = Path(directory)
        info = verify_export(directory)
        if info.format != cls.export_format:
            raise CheckpointError(f"{directory} holds {info.format} graphs; the {cls.name} "
                                  f"engine runs {cls.export_format} exports (tools/export_model.py"
                                  f" --format {cls.export_format})")
        engine = cls(None, None, cache_dir=directory, threads=threads)
        engine.exports[info.image_size] = (directory, info)
        engine._runners[info.image_size] = {name: engine._load(directory, info, name)
                                            for name in info.graphs}
        LOG.info("%s engine loaded from %s: %s (%d threads)", cls.name, directory, describe(info),
                 threads)
        return engine

    # --- preparation ---------------------------------------------------------------------
    def prepare(self, image_size: Sequence[int]) -> ExportInfo:
        """Export (or find in the cache) and load the graphs for ``(H, W)`` images."""
        size = (int(image_size[0]), int(image_size[1]))
        if size not in self._runners and self.kp_net is None:
            exported = next(iter(self.exports))
            raise ValueError(f"the exported graphs take {exported[0]}x{exported[1]} images, "
                             f"got {size[0]}x{size[1]}")
        if size not in self._runners:
            directory, info = self._export(size)
            self.exports[size] = (directory, info)
            self._runners[size] = {name: self._load(directory, info, name) for name in info.graphs}
            LOG.info("%s engine ready: %s (%d threads, %s)", self.name, describe(info),
                     self.threads, self.precision)
        return self.exports[size][1]

    def _export(self, size: tuple[int, int]) -> tuple[Path, ExportInfo]:
        """Export (or find in the cache) the graphs this engine runs for ``size`` images."""
        split_decoder = self.precision != "fp32" and self.split_source
        return export_fomm(self.kp_net, self.generator_net, self.cache_dir, size,
                           config=self.config, split_source=self.split_source,
                           optimize=self.optimize,
                           row_gather=self.precision == "fp32" or split_decoder,
                           split_decoder=split_decoder)

    def _load(self, directory: Path, info: ExportInfo, name: str) -> GraphRunner:
        model_file, params_file = graph_files(directory, name)
        # only the decoder (or an unsplit generator) may run in bfloat16: keypoints, the source
        # encoding (once per source) and the motion stay float32
        precision = self.precision if name in LOW_PRECISION_GRAPHS else "fp32"
        predictor = make_predictor(model_file, params_file, self.threads, precision)
        return GraphRunner(predictor, info.graphs[name], info.outputs[name])

    def _runner(self, name: str, image_shape: Sequence[int]) -> tuple[GraphRunner, ExportInfo]:
        size = (int(image_shape[2]), int(image_shape[3]))
        info = self.prepare(size)
        return self._runners[size][name], info

    # --- the engine interface ------------------------------------------------------------
    def kp_detector(self, images: ArrayLike) -> dict[str, paddle.Tensor]:
        check_images(images)
        images = to_numpy(images)
        runner, _ = self._runner("kp_detector", images.shape)
        outputs = runner(images)
        return {name: paddle.to_tensor(array) for name, array in zip(runner.output_names, outputs)}

    def generator(self, source: ArrayLike, kp_source: KeypointDict,
                  kp_driving: KeypointDict) -> paddle.Tensor:
        check_images(source, "source")
        n = batch_size_of(kp_driving)
        source = to_numpy(source)
        size = (int(source.shape[2]), int(source.shape[3]))
        info = self.prepare(size)
        runners = self._runners[size]
        feeds = [repeat_batch(source, n, "source")]
        if info.split_source:
            feeds.append(repeat_batch(self.source_features(source), n, "source"))
        feeds += [repeat_batch(array, n, "kp_source") for array in keypoint_arrays(kp_source)]
        feeds += keypoint_arrays(kp_driving)
        if "decoder" in runners:
            (deformed,) = runners["motion"](*feeds)
            (prediction,) = runners["decoder"](deformed)
        else:
            (prediction,) = runners["generator"](*feeds)
        return paddle.to_tensor(prediction)

    def twin(self) -> "FastEngine | None":
        """This engine over the same graphs, with its own requests, for another thread: the
        graphs of every prepared size, the source cache shared; ``None`` before any graph was
        loaded or when a graph cannot be shared (an int8 decoder still calibrating)."""
        import copy

        if not self._runners or not all(hasattr(runner, "twin") for runners in
                                        self._runners.values() for runner in runners.values()):
            return None
        twin = copy.copy(self)
        twin.exports = dict(self.exports)
        twin._runners = {size: {name: runner.twin() for name, runner in runners.items()}
                         for size, runners in self._runners.items()}
        return twin

    def source_features(self, source: np.ndarray) -> np.ndarray:
        """Encoder features of ``source`` ``[B,3,H,W]``, computed once per distinct source."""
        return self.source_cache.get(source, self._encode_source)

    def _encode_source(self, source: np.ndarray) -> np.ndarray:
        runner, _ = self._runner("source_encoder", source.shape)
        (features,) = runner(source)
        return features
