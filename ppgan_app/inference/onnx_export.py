"""The FOMM graphs as ONNX (Paddle's own converter, ``paddle2onnx``), for OpenVINO and ONNX Runtime.

The ONNX graphs are converted from the Paddle export (:mod:`ppgan_app.inference.export`), so
they carry the same rewrites and the same inputs and outputs (``meta.json`` with
``format: onnx``): ``kp_detector.onnx``, ``source_encoder.onnx`` and ``generator.onnx`` (or
``motion.onnx`` + ``decoder.onnx`` for a low-precision decoder). A converted folder sits beside
its Paddle export in the cache, keyed by the same hash plus the converter's version, and is
written to a temporary folder renamed into place when complete.
"""
from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Mapping, Sequence

from paddle import nn

from ppgan_app.inference.export import (ExportInfo, _publish, cached_export, export_fomm,
                                        graph_files, verify_export)
from ppgan_app.utils.native_output import quiet_native_output

LOG = logging.getLogger(__name__)

OPSET = 17
#: what paddle2onnx prints on every conversion (progress chatter, not problems)
CONVERTER_NOISE = ("[Paddle2ONNX]", "Paddle static graph(PIR)", "warnings.warn(",
                   "Tensor do not have 'place'")


def converter_version() -> str:
    """``paddle2onnx`` version (part of the cache key of converted graphs)."""
    import paddle2onnx

    return str(paddle2onnx.__version__)


def paddle_graph_to_onnx(model_file: Path, params_file: Path) -> bytes:
    """One exported Paddle graph as a serialised ONNX model (opset 17).

    Raises:
        RuntimeError: the converter failed (it logs its own reason).
    """
    import paddle2onnx

    with quiet_native_output(CONVERTER_NOISE):
        try:
            model = paddle2onnx.export(str(model_file), str(params_file), save_file=None,
                                       opset_version=OPSET, auto_upgrade_opset=True,
                                       enable_onnx_checker=True)
        except NameError:        # paddle2onnx logs the failure, then loses its result
            model = None
    if not isinstance(model, bytes) or not model:
        raise RuntimeError(f"paddle2onnx could not convert {model_file}")
    return model


def convert_export(source: Path, target: Path, info: ExportInfo) -> ExportInfo:
    """Write the ONNX version of the Paddle export ``source`` (described by ``info``) into the
    existing folder ``target``; returns (and seals) its meta data."""
    for name in info.graphs:
        model_file, params_file = graph_files(source, name)
        (target / f"{name}.onnx").write_bytes(paddle_graph_to_onnx(model_file, params_file))
    onnx_info = replace(info, format="onnx", files={})
    onnx_info.seal(target)
    return onnx_info


def onnx_export_fomm(kp_detector: nn.Layer, generator: nn.Layer, cache_dir: str | Path,
                     image_size: Sequence[int], config: Mapping | None = None,
                     split_decoder: bool = False) -> tuple[Path, ExportInfo]:
    """Export the networks (cached) and convert them to ONNX (cached beside the export).

    Args:
        kp_detector, generator: the networks, weights loaded.
        cache_dir: the export cache folder.
        image_size: ``(H, W)``.
        config: the model configuration (part of the key).
        split_decoder: ``motion`` + ``decoder`` graphs instead of ``generator``.

    Returns:
        ``(folder, info)`` of the ONNX graphs.
    """
    paddle_dir, info = export_fomm(kp_detector, generator, cache_dir, image_size, config=config,
                                   split_decoder=split_decoder)
    final = paddle_dir.with_name(f"{paddle_dir.name}_onnx{converter_version()}")
    cached = cached_export(final, "converting")
    if cached is not None and cached.key == info.key and cached.format == "onnx":
        return final, cached
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        LOG.info("converting %s to ONNX", paddle_dir.name)
        convert_export(paddle_dir, tmp, info)
        _publish(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final, verify_export(final)
