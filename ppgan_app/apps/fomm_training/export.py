"""Export a FOMM checkpoint to the fast engine's static graphs (``tools/export_model.py``).

    directory = export_checkpoint("RUN/iter_0003000_checkpoint.pdparams", "exported/tiny")

The folder holds the Paddle Inference graphs (``kp_detector``, ``source_encoder``,
``generator``: ``.json`` + ``.pdiparams``), ``meta.json`` (image size, keypoints, feeds) and
``config.yaml`` (the architecture, for reference). ``FastEngine.from_export(folder)`` and the
demo (``--weight_path folder``) run it without the training code's networks.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Optional

import yaml

from ppgan_app.errors import InputError
from ppgan_app.utils.safe_files import check_destination, publish, remove_quietly, temp_path

logger = logging.getLogger(__name__)


def is_export_dir(path: str | Path) -> bool:
    """A folder written by :func:`export_checkpoint` (it has ``meta.json``)."""
    from ppgan_app.inference.export import META_FILE

    return Path(path).is_dir() and (Path(path) / META_FILE).is_file()


def export_checkpoint(checkpoint: str | Path, output: str | Path, config: Any = None,
                      image_size: Optional[int] = None, overwrite: bool = False) -> Path:
    """Write the graphs of ``checkpoint`` into the folder ``output`` (complete or absent).

    Args:
        checkpoint: a kit training checkpoint (carries its config) or, with ``config``, any
            FOMM weight file or known name.
        output: new folder (or an existing export with ``overwrite``).
        config: architecture; ``None`` = the checkpoint's own.
        image_size: frame side; ``None`` = the config's training size, else 256.
    """
    from ppgan_app.inference.export import export_key, write_export
    from ppgan_app.models.firstorder import fomm_model_config
    from ppgan_app.weights.fomm import load_fomm

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
        write_export(kp_detector, generator, tmp, (size, size), key)
        (tmp / "config.yaml").write_text(yaml.safe_dump({"model": model}, sort_keys=False))
        if output.exists():
            remove_quietly(output)
        publish(tmp, output)
    finally:
        remove_quietly(tmp)
    logger.info("exported %dx%d FOMM graphs of %s to %s", size, size, checkpoint, output)
    return output
