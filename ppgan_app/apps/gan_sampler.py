"""Labelled samples from a trained GAN checkpoint, written as PNG files.

The model is rebuilt from the config stored in the checkpoint alone (``MODELS`` +
``build_from_config``), only ``netG``'s weights are loaded, and images are generated in
eval mode under ``no_grad``. Layout on disk:

* conditional model: ``<output>/<class_id>/<index>.png``, the layout ``ImageFolderDataset``
  reads (class folders are zero-padded so that name order is class order, e.g. ``00``..``11``);
* unconditional model: ``<output>/<index>.png``.

Noise ``z ~ N(0, I)`` comes from a private numpy generator seeded with ``(seed, class_id)``,
so a given seed always gives the same files, and ``--labels 3`` gives the same class-3
images as a run over all classes. The global random state is not touched.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

import cv2
import numpy as np
import paddle

from ppgan_app.apps.errors import InputError
from ppgan_app.engine.checkpoint import CheckpointError, load_checkpoint
from ppgan_app.engine.dist import unwrap
from ppgan_app.registries import MODELS
from ppgan_app.utils.registry import build_from_config
from ppgan_app.utils.visual import make_grid, save_image_grid

logger = logging.getLogger(__name__)

GRID_PER_CLASS = 8    # grid columns for a conditional model (one row per class)
GRID_UNCONDITIONAL = 64  # images in the grid of an unconditional model


@dataclass
class SampleSummary:
    """What ``generate_samples`` wrote."""

    output: Path                  # the output folder
    files: int                    # PNG files written (grid excluded)
    labels: Optional[List[int]]   # class ids generated; None for an unconditional model
    grid: Optional[Path] = None   # the sample grid, when asked for
    shape: List[int] = field(default_factory=list)  # [C, H, W] of one generated image


# --- model ---------------------------------------------------------------------------------
def load_generator_model(checkpoint: str | Path) -> Any:
    """The GAN model described by ``checkpoint``'s config, with its ``netG`` weights, in eval mode.

    Raises:
        InputError: the file is missing or unreadable, carries no config, or its netG
            weights do not fit the model the config builds.
    """
    import ppgan_app.models  # noqa: F401 - registers the models and networks

    try:
        ckpt = load_checkpoint(checkpoint)
    except CheckpointError as err:
        raise InputError(str(err)) from err
    cfg = ckpt.get("config") if isinstance(ckpt, dict) else None
    if not isinstance(cfg, dict) or not isinstance(cfg.get("model"), dict):
        raise InputError(f"{checkpoint} carries no config with a 'model' entry; "
                         f"use a checkpoint written by the trainer (iter_*_checkpoint.pdparams)")
    try:
        model = build_from_config(cfg["model"], MODELS)
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(f"cannot build the model of {checkpoint}: {err}") from err
    if "netG" not in getattr(model, "nets", {}) or not hasattr(model, "nz"):
        raise InputError(f"{checkpoint}: model {cfg['model'].get('name')!r} is not a GAN with a netG")
    _load_net_weights(model.nets["netG"], ckpt.get("nets", {}), "netG", checkpoint)
    model.nets["netG"].eval()
    return model


def _load_net_weights(net: paddle.nn.Layer, nets_state: Dict[str, Any], name: str,
                      checkpoint: str | Path) -> None:
    """Load ``nets_state[name]`` into ``net``; any missing or extra parameter is an error."""
    if name not in nets_state:
        raise InputError(f"{checkpoint} has no weights for {name} (has {sorted(nets_state)})")
    missing, unexpected = unwrap(net).set_state_dict(nets_state[name])
    if missing or unexpected:
        raise InputError(f"{checkpoint}: {name} weights do not fit its config: missing "
                         f"{list(missing)[:5]}, unexpected {list(unexpected)[:5]}")


def check_labels(labels: Optional[Sequence[int]], n_class: int) -> Optional[List[int]]:
    """The class ids to generate: ``labels`` (validated, duplicates dropped) or all classes.

    Returns None for an unconditional model (``n_class == 0``).
    """
    if n_class == 0:
        if labels:
            raise InputError("--labels was given but the checkpoint's model is unconditional")
        return None
    if not labels:
        return list(range(n_class))
    bad = [y for y in labels if not 0 <= int(y) < n_class]
    if bad:
        raise InputError(f"labels {bad} are out of range: the model has classes 0..{n_class - 1}")
    return list(dict.fromkeys(int(y) for y in labels))


# --- tensors -------------------------------------------------------------------------------
def sample_latents(num: int, nz: int, seed: int, class_id: Optional[int] = None) -> np.ndarray:
    """``z``: ``[num, nz]`` float32 ~ N(0, I) from a generator seeded with ``(seed, class_id)``."""
    key = [int(seed)] if class_id is None else [int(seed), int(class_id)]
    return np.random.default_rng(key).standard_normal((num, nz)).astype(np.float32)


def generate_batches(model: Any, z: np.ndarray, class_id: Optional[int],
                     batch_size: int) -> Iterator[np.ndarray]:
    """``G(z, y)`` in batches: yields ``[B, C, H, W]`` float32 arrays in [-1, 1]."""
    netG = model.nets["netG"]
    netG.eval()
    with paddle.no_grad():
        for start in range(0, len(z), batch_size):
            z_batch = paddle.to_tensor(z[start:start + batch_size])
            y = None if class_id is None else paddle.full([z_batch.shape[0]], class_id, dtype="int64")
            yield model.generate(z_batch, y).numpy().astype(np.float32)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """One image ``[C, H, W]`` in [-1, 1] -> ``[H, W, C]`` uint8 in [0, 255] (C in {1, 3})."""
    return make_grid(image[None], nrow=1, padding=0)


def write_png(pixels: np.ndarray, path: Path) -> None:
    """Write ``[H, W, C]`` uint8 pixels (grey or RGB) as a PNG."""
    bgr = pixels[:, :, 0] if pixels.shape[2] == 1 else cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(path), bgr):
        raise InputError(f"could not write image {path}")


# --- pipeline ------------------------------------------------------------------------------
def generate_samples(checkpoint: str | Path, output: str | Path, num: int,
                     labels: Optional[Sequence[int]] = None, batch_size: int = 256, seed: int = 0,
                     grid: Optional[str | Path] = None, overwrite: bool = False) -> SampleSummary:
    """Generate ``num`` images (per class for a conditional model) from ``checkpoint`` into ``output``.

    Args:
        checkpoint: a trainer checkpoint (``iter_*_checkpoint.pdparams``) holding its config.
        output: folder for the PNGs; must be empty or absent unless ``overwrite``.
        num: images per class (conditional) or in total (unconditional), >= 1.
        labels: class ids to generate (default: all); an error for an unconditional model.
        batch_size: images per generator call.
        seed: seeds the noise; the same seed gives byte-identical files.
        grid: optional PNG path for one sample grid (conditional: one row per class).
        overwrite: allow writing into a non-empty ``output``.
    """
    if num < 1 or batch_size < 1:
        raise InputError(f"--num and --batch_size must be >= 1, got {num} and {batch_size}")
    model = load_generator_model(checkpoint)
    class_ids = check_labels(labels, model.n_class)
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise InputError(f"output {output} exists and is not a folder")
    if output.is_dir() and any(output.iterdir()) and not overwrite:
        raise InputError(f"output folder {output} is not empty; choose a new folder or pass --overwrite")
    width_class = len(str(model.n_class - 1)) if class_ids is not None else 0
    width_index = len(str(num - 1))
    logger.info("generating %d image(s) %s from %s into %s", num,
                f"for each of classes {class_ids}" if class_ids is not None else "(unconditional)",
                checkpoint, output)
    files, grid_images = 0, []
    for class_id in class_ids if class_ids is not None else [None]:
        folder = output if class_id is None else output / f"{class_id:0{width_class}d}"
        z = sample_latents(num, model.nz, seed, class_id)
        quota = GRID_UNCONDITIONAL if class_id is None else GRID_PER_CLASS
        for index, image in enumerate(_write_images(model, z, class_id, batch_size, folder, width_index)):
            files += 1
            if index < quota:
                grid_images.append(image)
    shape = list(grid_images[0].shape)
    grid_path = _write_grid(grid_images, grid, class_ids, num) if grid else None
    logger.info("wrote %d PNG file(s) under %s", files, output)
    return SampleSummary(output=output, files=files, labels=class_ids, grid=grid_path, shape=shape)


def _write_images(model: Any, z: np.ndarray, class_id: Optional[int], batch_size: int,
                  folder: Path, width: int) -> Iterator[np.ndarray]:
    """Generate from ``z`` ``[N, nz]`` and write ``folder/<index>.png``; yield each ``[C, H, W]`` image."""
    folder.mkdir(parents=True, exist_ok=True)
    index = 0
    for batch in generate_batches(model, z, class_id, batch_size):
        for image in batch:
            write_png(to_uint8(image), folder / f"{index:0{width}d}.png")
            index += 1
            yield image


def _write_grid(images: List[np.ndarray], path: str | Path, class_ids: Optional[List[int]],
                num: int) -> Path:
    """One grid of ``images`` (each ``[C, H, W]`` in [-1, 1]); conditional: one row per class."""
    nrow = None if class_ids is None else min(num, GRID_PER_CLASS)
    written = save_image_grid(np.stack(images), path, nrow=nrow)
    logger.info("wrote sample grid %s", written)
    return written
