"""Export the FOMM networks to static graphs for Paddle Inference, with an on-disk cache.

Three graphs are written (Paddle 3 PIR format: ``<name>.json`` + ``<name>.pdiparams``):

* ``kp_detector``: images ``[N,3,H,W]`` -> ``value [N,K,2]`` (+ ``jacobian [N,K,2,2]``);
* ``source_encoder``: source ``[N,3,H,W]`` -> features ``[N,F,h,w]`` (the generator's
  ``first`` + ``down_blocks``, which depend on the source image only);
* ``generator``: source, features and both keypoint sets -> prediction ``[N,3,H,W]``.

Splitting off the source encoder lets an engine compute it once per source image instead of
once per driving frame (about a fifth of the generator's work at 256x256). With
``split_source=False`` a single ``generator`` graph takes the source image only.

The export runs on a rewritten copy of the networks: up blocks as transposed convs
(:mod:`ppgan_app.inference.rewrites`), keypoint reductions, dense motion maths and the
feature warp reformulated for oneDNN (:mod:`ppgan_app.inference.fast_ops`); the dygraph
networks are never modified. The batch dimension is dynamic, H and W are fixed.
An export directory is keyed by a hash of the weights, the layers' hyper-parameters, the
config, the image size and the export format; it is written to a temporary directory and
renamed into place when complete, so a crash never leaves something that looks like a cache
hit. ``meta.json`` lists the size and SHA-256 of every file of the export, checked on load
(:func:`verify_export`): a missing, cut or edited file is a
:class:`~ppgan_app.errors.CheckpointError`, never a silently wrong video.
"""
from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import numpy as np
import paddle
import paddle.nn.functional as F
from paddle import nn
from paddle.static import InputSpec

from ppgan_app.errors import CheckpointError
from ppgan_app.inference.fast_ops import FastKPDetector, use_fast_deform_input
from ppgan_app.inference.rewrites import rewritten_copy
from ppgan_app.utils.native_output import quiet_native_output

LOG = logging.getLogger(__name__)

EXPORT_FORMAT = "ppgan_app-fomm-export-v7"
META_FILE = "meta.json"
KP_NAMES = ("value", "jacobian")
#: what Paddle prints on every export that concerns nothing a user can act on
EXPORT_NOISE = ("not support input out tensor for now",
                "Tensor do not have 'place' interface for pir graph mode", "warnings.warn(")


@dataclass
class ExportInfo:
    """What an export directory holds (saved as ``meta.json``).

    Attributes:
        key: the cache key (hex digest).
        image_size: ``(H, W)`` the graphs were exported for.
        num_kp: K.
        has_jacobian: whether keypoints carry a jacobian.
        split_source: whether the generator takes precomputed source features.
        feature_shape: ``(F, h, w)`` of the source features (split exports only).
        graphs: graph name -> list of input names, in feed order.
        outputs: graph name -> list of output names, in fetch order.
        format: ``"paddle"`` (PIR ``.json`` + ``.pdiparams``) or ``"onnx"`` (``.onnx``).
        files: file name -> ``{"size": bytes, "sha256": hex}`` of every file but the meta file.
    """

    key: str
    image_size: tuple
    num_kp: int
    has_jacobian: bool
    split_source: bool
    feature_shape: tuple = ()
    graphs: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)
    format: str = "paddle"
    files: dict = field(default_factory=dict)

    @classmethod
    def load(cls, directory: Path) -> "ExportInfo":
        """The meta file of ``directory`` (not the files it lists: see :func:`verify_export`).

        Raises:
            CheckpointError: the meta file is missing, not JSON or lacks a field.
        """
        meta = Path(directory) / META_FILE
        try:
            data = json.loads(meta.read_text())
            data["image_size"] = tuple(int(s) for s in data["image_size"])
            data["feature_shape"] = tuple(int(s) for s in data["feature_shape"])
            info = cls(**data)
        except FileNotFoundError:
            raise CheckpointError(f"{meta} is missing: {directory} is not a complete export; "
                                  "export again with tools/export_model.py") from None
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as err:
            raise CheckpointError(f"{meta} is damaged ({type(err).__name__}: {err}); export "
                                  "again with tools/export_model.py") from None
        if info.format not in GRAPH_SUFFIXES or not isinstance(info.graphs, dict):
            raise CheckpointError(f"{meta} is damaged (format {info.format!r}); export again "
                                  "with tools/export_model.py")
        return info

    def save(self, directory: Path) -> None:
        (Path(directory) / META_FILE).write_text(json.dumps(asdict(self), indent=1))

    def seal(self, directory: Path) -> None:
        """Record the size and SHA-256 of every file in ``directory``, then save the meta file
        (last, so that a meta file means a complete export)."""
        self.files = {path.name: file_record(path) for path in sorted(Path(directory).iterdir())
                      if path.is_file() and path.name != META_FILE}
        self.save(directory)


#: graph file suffixes of each export format (model file, weights file or None)
GRAPH_SUFFIXES = {"paddle": (".json", ".pdiparams"), "onnx": (".onnx", None)}


def file_record(path: Path) -> dict:
    """``{"size": bytes, "sha256": hex digest}`` of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"size": path.stat().st_size, "sha256": digest.hexdigest()}


def verify_export(directory: str | Path) -> ExportInfo:
    """Load the meta file of an export and check every file it lists (presence, size, hash).

    Raises:
        CheckpointError: the meta file is damaged, lists no files (an older export), or a file
            is missing, has another size or another SHA-256 than when it was exported.
    """
    directory = Path(directory)
    info = ExportInfo.load(directory)
    again = "; export again with tools/export_model.py"
    if not info.files:
        raise CheckpointError(f"{directory} has no file list in {META_FILE} (an export by an "
                              f"older version, or a damaged one){again}")
    needed = {name + suffix for name in info.graphs
              for suffix in GRAPH_SUFFIXES[info.format] if suffix}
    unlisted = sorted(needed - set(info.files))
    if unlisted:
        raise CheckpointError(f"{META_FILE} of {directory} does not list {unlisted[0]}{again}")
    for name, record in sorted(info.files.items()):
        path = directory / name
        if not path.is_file():
            raise CheckpointError(f"export {directory} is damaged: {name} is missing{again}")
        size = path.stat().st_size
        if size != record.get("size"):
            raise CheckpointError(f"export {directory} is damaged: {name} has {size} bytes, "
                                  f"{record.get('size')} when exported (cut or replaced){again}")
        if file_record(path)["sha256"] != record.get("sha256"):
            raise CheckpointError(f"export {directory} is damaged: {name} was changed after "
                                  f"the export (SHA-256 differs){again}")
    return info


# --- cache key -----------------------------------------------------------------------------
def _hyper_parameters(layer: nn.Layer) -> list:
    """Public scalar attributes of every sublayer (e.g. ``inference``, ``temperature``)."""
    items = []
    for name, sub in layer.named_sublayers(include_self=True):
        for attr, value in sorted(vars(sub).items()):
            if (not attr.startswith("_") and attr != "training"      # export is always eval
                    and isinstance(value, (bool, int, float, str))):
                items.append((name, type(sub).__name__, attr, value))
    return items


def _hash_state(digest: "hashlib._Hash", layer: nn.Layer) -> None:
    for name, tensor in sorted(layer.state_dict().items()):
        array = np.ascontiguousarray(tensor.numpy())
        digest.update(f"{name}:{array.dtype}:{array.shape};".encode())
        digest.update(array.tobytes())


def export_key(kp_detector: nn.Layer, generator: nn.Layer, image_size: Sequence[int],
               config: Mapping | None = None, split_source: bool = True,
               optimize: bool = True, row_gather: bool = True,
               split_decoder: bool = False) -> str:
    """Cache key of an export: sha256 over weights, hyper-parameters, config, size and format."""
    digest = hashlib.sha256()
    header = {"format": EXPORT_FORMAT, "paddle": paddle.__version__,
              "image_size": [int(s) for s in image_size], "split_source": bool(split_source),
              "optimize": bool(optimize), "row_gather": bool(row_gather),
              "split_decoder": bool(split_decoder),
              "config": config, "classes": [type(kp_detector).__qualname__,
                                            type(generator).__qualname__],
              "hyper": [_hyper_parameters(kp_detector), _hyper_parameters(generator)]}
    digest.update(json.dumps(header, sort_keys=True, default=str).encode())
    for layer in (kp_detector, generator):
        _hash_state(digest, layer)
    return digest.hexdigest()


def export_dir_name(key: str, image_size: Sequence[int]) -> str:
    """Directory name of an export inside the cache folder."""
    return f"fomm_{int(image_size[0])}x{int(image_size[1])}_{key[:16]}"


# --- wrappers with flat tensor inputs and outputs -----------------------------------------
class KPDetectorGraph(nn.Layer):
    """``images [N,3,H,W]`` -> ``(value [N,K,2], jacobian [N,K,2,2])`` (jacobian if estimated)."""

    def __init__(self, kp_detector: nn.Layer, has_jacobian: bool) -> None:
        super().__init__()
        self.net = FastKPDetector(kp_detector)
        self.has_jacobian = has_jacobian

    def forward(self, images: paddle.Tensor):
        value, jacobian = self.net(images)
        if self.has_jacobian:
            return value, jacobian
        return value


class PlainKPDetectorGraph(nn.Layer):
    """:class:`KPDetectorGraph` running the detector's own forward (no rewrites)."""

    def __init__(self, kp_detector: nn.Layer, has_jacobian: bool) -> None:
        super().__init__()
        self.plain = kp_detector
        self.has_jacobian = has_jacobian

    def forward(self, images: paddle.Tensor):
        out = self.plain(images)
        if self.has_jacobian:
            return out["value"], out["jacobian"]
        return out["value"]


def _export_copy(generator: nn.Layer, optimize: bool, fast_deform: bool = False) -> nn.Layer:
    """A copy of the generator to export: rewritten (``optimize``) or as written."""
    if not optimize:
        clone = copy.deepcopy(generator)
        clone.eval()
        return clone
    clone = rewritten_copy(generator)
    return use_fast_deform_input(clone) if fast_deform else clone


class SourceEncoderGraph(nn.Layer):
    """The generator's encoder: ``source [N,3,H,W]`` -> features ``[N,F,H/2^d,W/2^d]``."""

    def __init__(self, generator: nn.Layer) -> None:
        super().__init__()
        self.first = generator.first
        self.down_blocks = generator.down_blocks

    def forward(self, source: paddle.Tensor) -> paddle.Tensor:
        out = self.first(source)
        for block in self.down_blocks:
            out = block(out)
        return out


class _FeatureFeed(nn.Layer):
    """Stands in for the generator's ``first`` layer: returns features fed from outside."""

    def __init__(self) -> None:
        super().__init__()
        self.features = None

    def forward(self, source_image: paddle.Tensor) -> paddle.Tensor:
        return self.features


class GeneratorGraph(nn.Layer):
    """The generator with flat inputs; returns ``prediction [N,3,H,W]``.

    Keypoints always carry jacobians here: for a detector without them the engine feeds
    identity matrices, which leave the motion model unchanged (``J_s J_d^-1 = I``).
    """

    def __init__(self, generator: nn.Layer) -> None:
        super().__init__()
        self.net = generator

    def forward(self, source: paddle.Tensor, kp_source_value: paddle.Tensor,
                kp_source_jacobian: paddle.Tensor, kp_driving_value: paddle.Tensor,
                kp_driving_jacobian: paddle.Tensor) -> paddle.Tensor:
        kp_s = {"value": kp_source_value, "jacobian": kp_source_jacobian}
        kp_d = {"value": kp_driving_value, "jacobian": kp_driving_jacobian}
        return self.net(source_image=source, kp_driving=kp_d, kp_source=kp_s)["prediction"]


class SplitGeneratorGraph(GeneratorGraph):
    """:class:`GeneratorGraph` whose encoder is replaced by precomputed ``features``.

    The generator's ``first`` layer returns the ``features`` input and its ``down_blocks`` are
    emptied; the generator's own forward runs unchanged otherwise.
    """

    def __init__(self, generator: nn.Layer) -> None:
        feed = _FeatureFeed()
        generator.first = feed
        generator.down_blocks = nn.LayerList()
        super().__init__(generator)
        self.feed = feed

    def forward(self, source: paddle.Tensor, features: paddle.Tensor,
                kp_source_value: paddle.Tensor, kp_source_jacobian: paddle.Tensor,
                kp_driving_value: paddle.Tensor,
                kp_driving_jacobian: paddle.Tensor) -> paddle.Tensor:
        self.feed.features = features
        return super().forward(source, kp_source_value, kp_source_jacobian, kp_driving_value,
                               kp_driving_jacobian)


class MotionGraph(nn.Layer):
    """The generator up to its decoder: warped, occlusion-masked source features.

    ``(source [N,3,H,W], features [N,F,h,w], keypoints)`` -> ``deformed [N,F,h,w]``: the
    dense motion network, the feature warp and the occlusion mask, as in the generator's
    forward (which needs a dense motion network).
    """

    def __init__(self, generator: nn.Layer) -> None:
        super().__init__()
        if generator.dense_motion_network is None:
            raise ValueError("a decoder split needs a generator with a dense motion network")
        self.net = generator

    def forward(self, source: paddle.Tensor, features: paddle.Tensor,
                kp_source_value: paddle.Tensor, kp_source_jacobian: paddle.Tensor,
                kp_driving_value: paddle.Tensor,
                kp_driving_jacobian: paddle.Tensor) -> paddle.Tensor:
        net = self.net
        motion = net.dense_motion_network(
            source_image=source,
            kp_driving={"value": kp_driving_value, "jacobian": kp_driving_jacobian},
            kp_source={"value": kp_source_value, "jacobian": kp_source_jacobian})
        out = net.deform_input(features, motion["deformation"])
        if "occlusion_map" in motion:
            out = out * net._fit_occlusion(motion["occlusion_map"], out.shape[2], out.shape[3])
        return out


class DecoderGraph(nn.Layer):
    """The generator's decoder: ``deformed [N,F,h,w]`` -> ``prediction [N,3,H,W]`` in (0,1)."""

    def __init__(self, generator: nn.Layer) -> None:
        super().__init__()
        self.bottleneck = generator.bottleneck
        self.up_blocks = generator.up_blocks
        self.final = generator.final

    def forward(self, deformed: paddle.Tensor) -> paddle.Tensor:
        out = self.bottleneck(deformed)
        for block in self.up_blocks:
            out = block(out)
        return F.sigmoid(self.final(out))


# --- export --------------------------------------------------------------------------------
KP_INPUTS = ("kp_source_value", "kp_source_jacobian", "kp_driving_value", "kp_driving_jacobian")


def _kp_specs(num_kp: int) -> list:
    return [InputSpec([None, num_kp, 2, 2] if name.endswith("jacobian") else [None, num_kp, 2],
                      "float32", name) for name in KP_INPUTS]


def _save_graph(layer: nn.Layer, specs: list, path: Path) -> None:
    layer.eval()
    static = paddle.jit.to_static(layer, input_spec=specs, full_graph=True)
    with quiet_native_output(EXPORT_NOISE):
        paddle.jit.save(static, str(path))


def _probe(kp_detector: nn.Layer, generator: nn.Layer, image_size: Sequence[int]) -> tuple:
    """Run the dygraph nets on a zero image: ``(num_kp, has_jacobian, feature_shape)``."""
    h, w = int(image_size[0]), int(image_size[1])
    zeros = paddle.zeros([1, 3, h, w], dtype="float32")
    with paddle.no_grad():
        kp = kp_detector(zeros)
        features = SourceEncoderGraph(generator)(zeros)
    return int(kp["value"].shape[1]), "jacobian" in kp, tuple(int(s) for s in features.shape[1:])


def write_export(kp_detector: nn.Layer, generator: nn.Layer, directory: Path,
                 image_size: Sequence[int], key: str, split_source: bool = True,
                 optimize: bool = True, row_gather: bool = True,
                 split_decoder: bool = False) -> ExportInfo:
    """Export the three (or two, or four) graphs into ``directory``; ``meta.json`` last.

    ``optimize=False`` exports the networks as written (no rewrites; for comparison);
    ``row_gather=False`` keeps Paddle's ``grid_sample`` for the generator's feature warp
    (needed for bfloat16, where the gather indices would be rounded);
    ``split_decoder=True`` (with ``split_source``) writes the generator as two graphs,
    ``motion`` (dense motion, warp, occlusion) and ``decoder``, so that an engine can run the
    decoder in bfloat16 and the motion, whose keypoints and sampling positions bfloat16 would
    round, in float32.
    """
    h, w = int(image_size[0]), int(image_size[1])
    kp_detector.eval()
    generator.eval()
    num_kp, has_jacobian, feature_shape = _probe(kp_detector, generator, (h, w))
    image_spec = [InputSpec([None, 3, h, w], "float32", "images")]
    source_spec = InputSpec([None, 3, h, w], "float32", "source")
    info = ExportInfo(key=key, image_size=(h, w), num_kp=num_kp, has_jacobian=has_jacobian,
                      split_source=split_source)
    kp_outputs = list(KP_NAMES if has_jacobian else KP_NAMES[:1])

    kp_graph = (KPDetectorGraph(rewritten_copy(kp_detector), has_jacobian) if optimize
                else PlainKPDetectorGraph(kp_detector, has_jacobian))
    _save_graph(kp_graph, image_spec, directory / "kp_detector")
    info.graphs["kp_detector"], info.outputs["kp_detector"] = ["images"], kp_outputs

    gen_inputs = [source_spec]
    if split_source:
        info.feature_shape = feature_shape
        _save_graph(SourceEncoderGraph(_export_copy(generator, optimize)), [source_spec],
                    directory / "source_encoder")
        info.graphs["source_encoder"], info.outputs["source_encoder"] = ["source"], ["features"]
        gen_inputs.append(InputSpec([None, *feature_shape], "float32", "features"))
    gen_inputs += _kp_specs(num_kp)
    if split_source and split_decoder:
        clone = _export_copy(generator, optimize, fast_deform=row_gather)
        _save_graph(MotionGraph(clone), gen_inputs, directory / "motion")
        info.graphs["motion"] = [spec.name for spec in gen_inputs]
        info.outputs["motion"] = ["deformed"]
        deformed_spec = InputSpec([None, *feature_shape], "float32", "deformed")
        _save_graph(DecoderGraph(clone), [deformed_spec], directory / "decoder")
        info.graphs["decoder"], info.outputs["decoder"] = ["deformed"], ["prediction"]
        info.seal(directory)
        return info
    graph = SplitGeneratorGraph if split_source else GeneratorGraph
    _save_graph(graph(_export_copy(generator, optimize, fast_deform=row_gather)), gen_inputs,
                directory / "generator")
    info.graphs["generator"] = [spec.name for spec in gen_inputs]
    info.outputs["generator"] = ["prediction"]
    info.seal(directory)
    return info


def export_fomm(kp_detector: nn.Layer, generator: nn.Layer, cache_dir: str | Path,
                image_size: Sequence[int], config: Mapping | None = None,
                split_source: bool = True, optimize: bool = True,
                row_gather: bool = True, split_decoder: bool = False) -> tuple[Path, ExportInfo]:
    """Export the networks once; later calls with the same weights and config hit the cache.

    Args:
        kp_detector: keypoint detector layer, weights loaded.
        generator: generator layer, weights loaded (``inference=True`` for animation).
        cache_dir: folder holding export directories (created if missing).
        image_size: ``(H, W)`` of the images the graphs will see.
        config: the model configuration (part of the key).
        split_source: export the source encoder as its own graph (see the module docstring).
        optimize: apply the export rewrites (False: the networks as written, for comparison).
        row_gather: warp the generator's features by row gathers (False for bfloat16).
        split_decoder: export the generator as ``motion`` + ``decoder`` graphs (bfloat16).

    Returns:
        ``(directory, info)`` of the (cached or fresh) export.
    """
    cache_dir = Path(cache_dir)
    key = export_key(kp_detector, generator, image_size, config, split_source, optimize,
                     row_gather, split_decoder)
    final = cache_dir / export_dir_name(key, image_size)
    info = cached_export(final, "exporting")
    if info is not None:
        if info.key == key:
            LOG.info("export cache hit: %s", final)
            return final, info
        LOG.warning("export %s has a different key; exporting again", final)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=cache_dir))
    try:
        LOG.info("exporting FOMM graphs for %dx%d to %s", image_size[0], image_size[1], final)
        write_export(kp_detector, generator, tmp, image_size, key, split_source, optimize,
                     row_gather, split_decoder)
        _publish(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final, ExportInfo.load(final)


def cached_export(folder: Path, redo: str) -> Optional[ExportInfo]:
    """The verified :class:`ExportInfo` of a cached export ``folder``; ``None`` when there is
    none, or when it is damaged (then it is removed and a warning says it is ``redo`` again)."""
    if not (folder / META_FILE).is_file():
        return None
    try:
        return verify_export(folder)
    except CheckpointError as err:
        LOG.warning("%s; %s again", err, redo)
        shutil.rmtree(folder, ignore_errors=True)
        return None


def _publish(tmp: Path, final: Path) -> None:
    """Rename a complete export into place; if another process got there first, keep theirs."""
    try:
        os.rename(tmp, final)
    except OSError:
        if not (final / META_FILE).is_file():
            raise
        LOG.info("export %s appeared concurrently; using it", final)


def graph_files(directory: Path, name: str) -> tuple[Path, Path]:
    """``(model_file, params_file)`` of an exported Paddle graph (PIR ``.json`` or legacy
    ``.pdmodel``)."""
    params = directory / f"{name}.pdiparams"
    for suffix in (".json", ".pdmodel"):
        model = directory / f"{name}{suffix}"
        if model.is_file():
            return model, params
    raise FileNotFoundError(f"no exported graph {name!r} in {directory}")


def describe(info: ExportInfo) -> dict[str, Any]:
    """A loggable summary of an export."""
    return {"image_size": info.image_size, "num_kp": info.num_kp, "format": info.format,
            "jacobian": info.has_jacobian, "split_source": info.split_source}
