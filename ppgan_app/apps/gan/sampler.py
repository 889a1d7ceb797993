"""Samples from a trained GAN checkpoint: arrays, PNG folders, grids and latent interpolations.

The model is rebuilt from the config stored in the checkpoint alone (``MODELS`` +
``build_from_config``); the generator used is the EMA copy ``netG_ema`` when the model keeps
one, else ``netG``. Images are generated in eval mode under ``no_grad``.

Layout of a PNG folder:

* conditional model: ``<output>/<class_id>/<index>.png``, the layout ``ImageFolderDataset``
  reads (class folders are zero-padded so that name order is class order, e.g. ``00``..``11``);
* unconditional model: ``<output>/<index>.png``.

Noise ``z ~ N(0, I)`` (optionally truncated: values beyond ``±truncation`` are redrawn) comes
from a private numpy generator seeded with ``(seed, class_id)``, so a given seed always gives
the same files, and ``labels=[3]`` gives the same class-3 images as a run over all classes.
The global random state is not touched.

Results appear only complete: every option and destination is checked before the first image
is generated, PNGs are written into a hidden temp folder next to ``output`` that is renamed onto
it at the end, and any failure (disk full, Ctrl-C, SIGTERM) removes the temp folder.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import paddle

from ppgan_app.engine.dist import unwrap
from ppgan_app.errors import CheckpointError, InputError, OutputError, describe_os_error
from ppgan_app.registries import MODELS
from ppgan_app.utils.registry import build_from_config
from ppgan_app.utils.safe_files import (atomic_output, check_destination, clean_stale_temps,
                                        remove_quietly, temp_path)
from ppgan_app.utils.visual import MAX_GRID_IMAGES, make_grid
from ppgan_app.weights.reader import load_strict, net_states

logger = logging.getLogger(__name__)

GRID_PER_CLASS = 8       # grid columns for a conditional model (one row per class)
GRID_UNCONDITIONAL = 64  # images in the grid of an unconditional model
GRID_COLUMNS = 32        # most images per grid row when every generated image is drawn
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


@dataclass
class SampleSummary:
    """What ``generate_samples`` wrote."""

    output: Path                  # the output folder
    files: int                    # PNG files written (grid excluded)
    labels: Optional[List[int]]   # class ids generated; None for an unconditional model
    grid: Optional[Path] = None   # the sample grid, when asked for
    shape: List[int] = field(default_factory=list)  # [C, H, W] of one generated image


# --- model ---------------------------------------------------------------------------------
def load_generator_model(checkpoint: str | Path, use_ema: bool = True) -> Any:
    """The GAN model described by ``checkpoint``'s config, with its generator weights, in eval mode.

    Loads ``netG_ema`` when the model keeps an EMA generator and ``use_ema``, else ``netG``
    (``use_ema=False`` drops the EMA copy, so the raw generator samples).

    Raises:
        CheckpointError: the file is missing or unreadable, carries no config, or its
            generator weights do not fit the model the config builds.
    """
    import ppgan_app.models  # noqa: F401 - registers the models and networks
    from ppgan_app.engine.checkpoint import load_checkpoint

    ckpt = load_checkpoint(checkpoint)
    cfg = ckpt.get("config") if isinstance(ckpt, dict) else None
    if not isinstance(cfg, dict) or not isinstance(cfg.get("model"), dict):
        raise CheckpointError(f"{checkpoint} carries no config with a 'model' entry; "
                              f"use a checkpoint written by the trainer (iter_*_checkpoint.pdparams)")
    try:
        model = build_from_config(cfg["model"], MODELS)
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"cannot build the model of {checkpoint}: {err}") from err
    if "netG" not in getattr(model, "nets", {}) or not hasattr(model, "nz"):
        raise CheckpointError(f"{checkpoint}: model {cfg['model'].get('name')!r} is not a GAN with a netG")
    if not use_ema:
        model.nets.pop("netG_ema", None)
    name = "netG_ema" if "netG_ema" in model.nets else "netG"
    _load_net_weights(model.nets[name], ckpt.get("nets", {}), name, checkpoint)
    model.eval()
    return model


def _load_net_weights(net: paddle.nn.Layer, nets_state: Dict[str, Any], name: str,
                      checkpoint: str | Path) -> None:
    """Load ``nets_state[name]`` into ``net``; any missing, extra or mis-shaped parameter is an
    error (nothing is loaded then)."""
    state = net_states(nets_state, [name], str(checkpoint))[name]
    load_strict(unwrap(net), state, f"the {name} weights of {checkpoint}",
                "the model its config builds")


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


def check_sampling(num: int, batch_size: int = 1, seed: int = 0, truncation: Optional[float] = None) -> None:
    """Validate the numeric options shared by every generation tool (before any work)."""
    if num < 1 or batch_size < 1:
        raise InputError(f"--num and --batch_size must be >= 1, got {num} and {batch_size}")
    if not 0 <= seed < 2**32:
        raise InputError(f"--seed must be in 0..{2**32 - 1}, got {seed}")
    if truncation is not None and not (np.isfinite(truncation) and truncation > 0):
        raise InputError(f"--truncation must be a positive number (e.g. 1.0), got {truncation}")


def check_grid_count(count: int) -> None:
    """A grid picture holds at most :data:`MAX_GRID_IMAGES` images (checked before work).

    Raises:
        InputError: ``count`` is larger.
    """
    if count > MAX_GRID_IMAGES:
        raise InputError(f"a grid holds at most {MAX_GRID_IMAGES} images, {count} asked: lower "
                         "--num (or the classes with --labels)")


def check_image_path(path: str | Path, what: str = "--grid") -> Path:
    """``path`` must end in an image extension and be writable (checked before generating)."""
    path = Path(path)
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise InputError(f"{what} {path} needs an image extension ({', '.join(IMAGE_SUFFIXES)}), "
                         f"e.g. {path.with_suffix('.png')}")
    return check_destination(path, f"{what} file")


def check_output_folder(output: str | Path, overwrite: bool) -> Path:
    """``output`` must be absent, an empty folder, or (``overwrite``) any folder; its parent writable."""
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise InputError(f"output {output} exists and is not a folder")
    if output.is_dir() and any(output.iterdir()) and not overwrite:
        raise InputError(f"output folder {output} is not empty; choose a new folder or pass --overwrite")
    check_destination(output.parent / (output.name + ".probe"), "output folder")
    if output.is_dir() and not os.access(output, os.W_OK | os.X_OK):
        raise InputError(f"cannot write to folder {output}: permission denied; choose a folder you can write to")
    return output


# --- tensors -------------------------------------------------------------------------------
def sample_latents(num: int, nz: int, seed: int, class_id: Optional[int] = None,
                   truncation: Optional[float] = None) -> np.ndarray:
    """``z``: ``[num, nz]`` float32 ~ N(0, I) from a generator seeded with ``(seed, class_id)``.

    With ``truncation``, entries with ``|z| > truncation`` are redrawn (the truncation trick:
    less variety, more typical samples).
    """
    key = [int(seed)] if class_id is None else [int(seed), int(class_id)]
    rng = np.random.default_rng(key)
    z = rng.standard_normal((num, nz))
    if truncation is not None:
        bad = np.abs(z) > truncation
        while bad.any():
            z[bad] = rng.standard_normal(int(bad.sum()))
            bad = np.abs(z) > truncation
    return z.astype(np.float32)


def generate_batches(model: Any, z: np.ndarray, class_id: Optional[Any], batch_size: int) -> Iterator[np.ndarray]:
    """``G(z, y)`` in batches: yields ``[B, C, H, W]`` float32 arrays in [-1, 1].

    ``class_id``: None (unconditional), one int, or ``[N]`` int labels.
    """
    model.eval()
    with paddle.no_grad():
        for start in range(0, len(z), batch_size):
            z_batch = paddle.to_tensor(z[start:start + batch_size])
            if class_id is None:
                y = None
            elif np.ndim(class_id) == 0:
                y = paddle.full([z_batch.shape[0]], int(class_id), dtype="int64")
            else:
                y = paddle.to_tensor(np.asarray(class_id[start:start + batch_size], dtype=np.int64))
            yield model.generate(z_batch, y).numpy().astype(np.float32)


def generate_array(model: Any, num: int, seed: int = 0, labels: Optional[np.ndarray] = None,
                   truncation: Optional[float] = None, batch_size: int = 256) -> np.ndarray:
    """``num`` images ``[num, C, H, W]`` float32 in [-1, 1]; ``labels`` ``[num]`` for a conditional model."""
    if model.n_class and labels is None:
        raise InputError("a conditional model needs labels to generate")
    z = sample_latents(num, model.nz, seed, truncation=truncation)
    return np.concatenate(list(generate_batches(model, z, labels if model.n_class else None, batch_size)))


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation between ``a`` and ``b`` ``[nz]`` at fractions ``t`` ``[S]`` -> ``[S, nz]``."""
    cos = np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if omega < 1e-6:
        return (1 - t)[:, None] * a + t[:, None] * b
    return (np.sin((1 - t) * omega)[:, None] * a + np.sin(t * omega)[:, None] * b) / np.sin(omega)


def interpolation_latents(rows: int, steps: int, nz: int, seed: int,
                          truncation: Optional[float] = None) -> np.ndarray:
    """``[rows * steps, nz]``: each row walks (slerp) from one random latent to another."""
    ends = sample_latents(2 * rows, nz, seed, truncation=truncation)
    t = np.linspace(0.0, 1.0, steps)
    return np.concatenate([slerp(ends[2 * r], ends[2 * r + 1], t) for r in range(rows)]).astype(np.float32)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """One image ``[C, H, W]`` in [-1, 1] -> ``[H, W, C]`` uint8 in [0, 255] (C in {1, 3})."""
    return make_grid(image[None], nrow=1, padding=0)


# --- files ---------------------------------------------------------------------------------
def encode_image(pixels: np.ndarray, suffix: str = ".png") -> bytes:
    """``[H, W, C]`` uint8 (grey or RGB) -> encoded bytes (cv2's result is checked)."""
    bgr = pixels[:, :, 0] if pixels.shape[2] == 1 else cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(suffix, bgr)
    if not ok:
        raise OutputError(f"could not encode a {pixels.shape} image as {suffix}")
    return buf.tobytes()


def write_bytes(path: Path, data: bytes) -> None:
    """Write a file; an ``OSError`` (disk full, permissions) propagates with its errno."""
    with open(path, "wb") as handle:
        handle.write(data)


def write_image(pixels: np.ndarray, path: str | Path) -> Path:
    """Write ``[H, W, C]`` uint8 pixels atomically to ``path`` (format from its extension)."""
    path = Path(path)
    data = encode_image(pixels, path.suffix.lower())
    with atomic_output(path) as tmp:
        write_bytes(tmp, data)
    return path


def write_grid(images: np.ndarray, path: str | Path, nrow: Optional[int] = None) -> Path:
    """``images`` ``[N, C, H, W]`` in [-1, 1] as one grid image at ``path``."""
    return write_image(make_grid(images, nrow=nrow), path)


def publish_folder(tmp: Path, output: Path) -> None:
    """Move the finished temp folder onto ``output`` (renamed whole when ``output`` is absent or
    empty; else file by file, each rename atomic)."""
    try:
        if output.is_dir() and not any(output.iterdir()):
            output.rmdir()
        if not output.exists():
            os.replace(tmp, output)
            return
        for source in sorted(tmp.rglob("*")):
            target = output / source.relative_to(tmp)
            if source.is_dir():
                target.mkdir(exist_ok=True)
            else:
                os.replace(source, target)
    except OSError as err:
        raise OutputError(describe_os_error(err, output)) from None


# --- pipelines -----------------------------------------------------------------------------
def generate_samples(checkpoint: str | Path, output: str | Path, num: int,
                     labels: Optional[Sequence[int]] = None, batch_size: int = 256, seed: int = 0,
                     grid: Optional[str | Path] = None, overwrite: bool = False,
                     truncation: Optional[float] = None) -> SampleSummary:
    """Generate ``num`` images (per class for a conditional model) from ``checkpoint`` into ``output``.

    Args:
        checkpoint: a trainer checkpoint (``iter_*_checkpoint.pdparams``) holding its config.
        output: folder for the PNGs; must be empty or absent unless ``overwrite``.
        num: images per class (conditional) or in total (unconditional), >= 1.
        labels: class ids to generate (default: all); an error for an unconditional model.
        batch_size: images per generator call.
        seed: seeds the noise (0 .. 2**32-1); the same seed gives byte-identical files.
        grid: optional image path for one sample grid (conditional: one row per class).
        overwrite: allow writing into a non-empty ``output``.
        truncation: redraw noise entries beyond ``±truncation``.

    Raises:
        InputError: a bad option or destination (checked before anything is generated).
        OutputError: a write failed (e.g. "no space left on device at <output>"); nothing
            is left behind.
    """
    check_sampling(num, batch_size, seed, truncation)
    output = check_output_folder(output, overwrite)
    grid_path = check_image_path(grid) if grid else None
    model = load_generator_model(checkpoint)
    class_ids = check_labels(labels, model.n_class)
    if grid_path is not None:  # the grid draws every image written
        check_grid_count(num * (len(class_ids) if class_ids is not None else 1))
    clean_stale_temps(output)
    logger.info("generating %d image(s) %s from %s into %s", num,
                f"for each of classes {class_ids}" if class_ids is not None else "(unconditional)",
                checkpoint, output)
    tmp = temp_path(output)
    try:
        files, grid_images = _write_folder(model, tmp, num, class_ids, batch_size, seed, truncation,
                                           keep_all=grid_path is not None)
        if grid_path is not None:
            nrow = None if class_ids is None else min(num, GRID_COLUMNS)
            write_grid(np.stack(grid_images), grid_path, nrow=nrow)
        publish_folder(tmp, output)
    except OSError as err:
        raise OutputError(describe_os_error(err, output)) from None
    finally:
        remove_quietly(tmp)
    logger.info("wrote %d PNG file(s) under %s", files, output)
    return SampleSummary(output=output, files=files, labels=class_ids, grid=grid_path,
                         shape=list(grid_images[0].shape))


def _write_folder(model: Any, folder: Path, num: int, class_ids: Optional[List[int]], batch_size: int,
                  seed: int, truncation: Optional[float], keep_all: bool = False) -> tuple:
    """Write every PNG under ``folder``; return the count and the images kept for the grid
    (all of them with ``keep_all``, else the first one)."""
    width_class = len(str(model.n_class - 1)) if class_ids is not None else 0
    width_index = len(str(num - 1))
    files, grid_images = 0, []
    for class_id in class_ids if class_ids is not None else [None]:
        sub = folder if class_id is None else folder / f"{class_id:0{width_class}d}"
        sub.mkdir(parents=True, exist_ok=True)
        z = sample_latents(num, model.nz, seed, class_id, truncation)
        quota = num if keep_all else 1
        index = 0
        for batch in generate_batches(model, z, class_id, batch_size):
            for image in batch:
                write_bytes(sub / f"{index:0{width_index}d}.png", encode_image(to_uint8(image)))
                if index < quota:
                    grid_images.append(image)
                index += 1
                files += 1
    return files, grid_images


def grid_array(model: Any, num: Optional[int] = None, seed: int = 0,
               labels: Optional[Sequence[int]] = None, truncation: Optional[float] = None
               ) -> Tuple[np.ndarray, Optional[int]]:
    """The images of a sample grid and its row length: conditional models one row per class
    (``num`` per row, default 8), unconditional ``num`` images (default 64, ``nrow`` None).

    Returns:
        ``([N, C, H, W]`` float32 in [-1, 1], images per row or None).
    """
    class_ids = check_labels(labels, model.n_class)
    if class_ids is None:
        check_grid_count(num or GRID_UNCONDITIONAL)
        return generate_array(model, num or GRID_UNCONDITIONAL, seed, truncation=truncation), None
    count = num or GRID_PER_CLASS
    check_grid_count(count * len(class_ids))
    images = np.concatenate([generate_array(model, count, seed, np.full(count, y), truncation)
                             for y in class_ids])
    return images, count


def sample_grid(checkpoint: str | Path, output: str | Path, num: Optional[int] = None, seed: int = 0,
                labels: Optional[Sequence[int]] = None, truncation: Optional[float] = None,
                nrow: Optional[int] = None) -> Path:
    """One grid image of samples (see :func:`grid_array`) written to ``output``; at most
    ``MAX_GRID_IMAGES`` images (per class for a conditional model)."""
    check_sampling(num or 1, 1, seed, truncation)
    if num is not None and num > MAX_GRID_IMAGES:
        raise InputError(f"--num {num} is too many for one grid picture (at most {MAX_GRID_IMAGES}); "
                         f"use the images command for large sets")
    path = check_image_path(output, "output")
    model = load_generator_model(checkpoint)
    images, per_row = grid_array(model, num, seed, labels, truncation)
    return write_grid(images, path, nrow=nrow or per_row)


def interpolation_array(model: Any, rows: int = 8, steps: int = 10, seed: int = 0,
                        label: Optional[int] = None, truncation: Optional[float] = None
                        ) -> np.ndarray:
    """Latent interpolation images ``[rows * steps, C, H, W]`` in [-1, 1]: each row walks
    (spherical interpolation) from one latent to another; a conditional model holds the class
    ``label`` fixed (default: row r uses class r mod n_class)."""
    if rows < 1 or steps < 2:
        raise InputError(f"--rows must be >= 1 and --steps >= 2, got {rows} and {steps}")
    z = interpolation_latents(rows, steps, model.nz, seed, truncation)
    y = None
    if model.n_class:
        if label is not None:
            check_labels([label], model.n_class)
        row_labels = np.full(rows, label) if label is not None else np.arange(rows) % model.n_class
        y = np.repeat(row_labels, steps)
    elif label is not None:
        check_labels([label], 0)
    return np.concatenate(list(generate_batches(model, z, y, 256)))


def interpolation_strip(checkpoint: str | Path, output: str | Path, rows: int = 8, steps: int = 10,
                        seed: int = 0, label: Optional[int] = None,
                        truncation: Optional[float] = None) -> Path:
    """The :func:`interpolation_array` of ``checkpoint`` as one grid image (a row per walk)."""
    if rows < 1 or steps < 2:
        raise InputError(f"--rows must be >= 1 and --steps >= 2, got {rows} and {steps}")
    check_sampling(1, 1, seed, truncation)
    path = check_image_path(output, "output")
    model = load_generator_model(checkpoint)
    images = interpolation_array(model, rows, steps, seed, label, truncation)
    return write_grid(images, path, nrow=steps)
