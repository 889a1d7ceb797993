"""Export a FOMM checkpoint to static graphs (``tools/export_model.py``).

    directory = export_checkpoint("RUN/iter_0003000_checkpoint.pdparams", "exported/tiny")
    directory = export_checkpoint(ckpt, "exported/tiny_onnx", fmt="onnx")

The folder holds the graphs (``kp_detector``, ``source_encoder``, ``generator``: Paddle
Inference ``.json`` + ``.pdiparams``, or ``.onnx``), ``config.yaml`` (the architecture) and
``meta.json`` (image size, keypoints, feeds, and the size and SHA-256 of every file, checked on
load). The demo (``--weight_path folder``) runs it without the training code's networks: the
fast engine a Paddle export, the ONNX engines an ONNX export; a ``--config`` given with it must
be the folder's own.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Optional

import yaml

from ppgan_app.errors import ConfigError, InputError
from ppgan_app.utils.safe_files import check_destination, publish, remove_quietly, temp_path

logger = logging.getLogger(__name__)

EXPORT_FORMATS = ("paddle", "onnx")
CONFIG_FILE = "config.yaml"


def is_export_dir(path: str | Path) -> bool:
    """A folder written by :func:`export_checkpoint`, whole or damaged: it has ``meta.json`` or
    graph files (loading checks the rest)."""
    from ppgan_app.inference.export import META_FILE

    path = Path(path)
    if not path.is_dir():
        return False
    return (path / META_FILE).is_file() or any(path.glob("*.pdiparams")) \
        or any(path.glob("*.onnx"))


def export_checkpoint(checkpoint: str | Path, output: str | Path, config: Any = None,
                      image_size: Optional[int] = None, overwrite: bool = False,
                      fmt: str = "paddle") -> Path:
    """Write the graphs of ``checkpoint`` into the folder ``output`` (complete or absent).

    Args:
        checkpoint: a kit training checkpoint (carries its config) or, with ``config``, any
            FOMM weight file or known name.
        output: new folder (or an existing export with ``overwrite``).
        config: architecture; ``None`` = the checkpoint's own.
        image_size: frame side; ``None`` = the config's training size, else 256.
        fmt: ``"paddle"`` (Paddle Inference graphs) or ``"onnx"`` (``paddle2onnx``).
    """
    from ppgan_app.inference.export import ExportInfo, export_key, write_export
    from ppgan_app.models.firstorder import fomm_model_config
    from ppgan_app.weights.fomm import load_fomm

    if fmt not in EXPORT_FORMATS:
        raise InputError(f"--format {fmt!r}: choose one of {', '.join(EXPORT_FORMATS)}")
    output = Path(output)
    if output.exists() and not (overwrite and (is_export_dir(output) or not any(output.iterdir()))):
        raise InputError(f"--output {output} exists; choose a new folder (or --overwrite an export)")
    check_destination(output.parent / f"{output.name}.probe", what="output folder")
    kp_detector, generator, cfg, size, _ = load_fomm(checkpoint, config, image_size,
                                                     require_config=True)
    model = fomm_model_config(cfg)
    key = export_key(kp_detector, generator, (size, size), {"model": model})
    tmp = temp_path(output, "export")
    try:
        tmp.mkdir()
        graphs = tmp / "paddle" if fmt == "onnx" else tmp
        graphs.mkdir(exist_ok=True)
        info = write_export(kp_detector, generator, graphs, (size, size), key)
        if fmt == "onnx":
            from ppgan_app.inference.onnx_export import convert_export

            convert_export(graphs, tmp, info)
            remove_quietly(graphs)
        (tmp / CONFIG_FILE).write_text(yaml.safe_dump({"model": model}, sort_keys=False))
        ExportInfo.load(tmp).seal(tmp)          # the file list now holds config.yaml too
        if output.exists():
            remove_quietly(output)
        publish(tmp, output)
    finally:
        remove_quietly(tmp)
    logger.info("exported %dx%d FOMM graphs (%s) of %s to %s", size, size, fmt, checkpoint, output)
    return output


def check_export_config(folder: str | Path, config: Any) -> None:
    """Refuse a ``--config`` whose model section is not the one the export in ``folder`` was
    made from (the graphs fix the architecture; a different config would be ignored).

    Raises:
        ConfigError: the configs differ, or the folder does not record its config.
    """
    from ppgan_app.models.firstorder import fomm_model_config, load_fomm_config

    saved = Path(folder) / CONFIG_FILE
    try:
        exported = yaml.safe_load(saved.read_text())["model"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        raise ConfigError(f"--config given, but {folder} does not record the config it was "
                          f"exported from ({CONFIG_FILE}); omit --config or export again") from None
    wanted = fomm_model_config(load_fomm_config(config))
    if _architecture(wanted) != _architecture(fomm_model_config({"model": exported})):
        raise ConfigError(f"--config {config if isinstance(config, (str, Path)) else '(dict)'} "
                          f"does not match the architecture exported in {folder} (see its "
                          f"{CONFIG_FILE}); omit --config, or export again with this config")


def _architecture(model: Any) -> Any:
    """What fixes the graphs in a ``model`` section, as plain YAML data (training keys such as
    losses or the discriminator do not count)."""
    arch = {"common_params": model["common_params"],
            "kp_detector_cfg": model["generator"]["kp_detector_cfg"],
            "generator_cfg": model["generator"]["generator_cfg"]}
    return yaml.safe_load(yaml.safe_dump(arch, sort_keys=True))
