"""Labelled augmentation: an image-folder data set of generated images, optionally merged with real ones.

    summary = write_augmented_dataset("cond_ckpt.pdparams", "augmented/", per_class=500,
                                      real_images=x, real_labels=y)

Layout (what ``ImageFolderDataset`` and torchvision's ``ImageFolder`` read)::

    augmented/<class_id>/gen_<index>.png    # M generated images per class (labelled by the condition)
    augmented/<class_id>/real_<index>.png   # the real images, when merged

Real images are resized to the generator's resolution so the data set has one image size.
As every result of the kit, the folder appears only complete (temp folder, renamed at the end).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import numpy as np

from ppgan_app.apps.gan.sampler import (check_labels, check_output_folder, check_sampling, encode_image,
                                        generate_batches, load_generator_model, publish_folder,
                                        sample_latents, to_uint8, write_bytes)
from ppgan_app.apps.gan.labelled_data import resize_images
from ppgan_app.errors import InputError, OutputError, describe_os_error
from ppgan_app.utils.safe_files import clean_stale_temps, remove_quietly, temp_path

logger = logging.getLogger(__name__)


@dataclass
class AugmentSummary:
    """What ``write_augmented_dataset`` wrote: counts per class id."""

    output: Path
    generated: Dict[int, int]
    real: Dict[int, int]


def write_augmented_dataset(checkpoint: str | Path, output: str | Path, per_class: int,
                            real_images: Optional[np.ndarray] = None, real_labels: Optional[np.ndarray] = None,
                            labels: Optional[Sequence[int]] = None, seed: int = 0,
                            truncation: Optional[float] = None, batch_size: int = 256,
                            overwrite: bool = False) -> AugmentSummary:
    """Write ``per_class`` generated images of each class (and the real ones) under ``output``.

    Args:
        checkpoint: a conditional GAN's trainer checkpoint.
        output: the data set folder (absent or empty unless ``overwrite``).
        per_class: generated images per class (0 writes only the real images).
        real_images, real_labels: ``[N, C, H, W]`` float32 in [-1, 1] and ``[N]`` int labels
            to merge in (both or neither).
        labels: the classes to generate (default: all).
        seed, truncation, batch_size: as ``gan_sampler.generate_samples``.
    """
    if per_class < 0:
        raise InputError(f"--per_class must be >= 0, got {per_class}")
    if (real_images is None) != (real_labels is None):
        raise InputError("real images and real labels go together")
    if per_class == 0 and real_images is None:
        raise InputError("nothing to write: --per_class is 0 and no real images were given")
    check_sampling(max(per_class, 1), batch_size, seed, truncation)
    output = check_output_folder(output, overwrite)
    model = load_generator_model(checkpoint)
    if not model.n_class:
        raise InputError(f"{checkpoint} holds an unconditional GAN; labelled augmentation needs a "
                         f"conditional one (e.g. configs/cond_dcgan_fashion_mnist.yaml)")
    class_ids = check_labels(labels, model.n_class)
    if real_labels is not None:
        bad = sorted({int(y) for y in real_labels if not 0 <= int(y) < model.n_class})
        if bad:
            raise InputError(f"real labels {bad[:5]} are outside the model's classes 0..{model.n_class - 1}")
    clean_stale_temps(output)
    tmp = temp_path(output)
    width = len(str(model.n_class - 1))
    try:
        generated = _write_generated(model, tmp, per_class, class_ids, width, seed, truncation, batch_size)
        real = _write_real(tmp, real_images, real_labels, width, size=_generated_size(model))
        publish_folder(tmp, output)
    except OSError as err:
        raise OutputError(describe_os_error(err, output)) from None
    finally:
        remove_quietly(tmp)
    logger.info("wrote %d generated and %d real image(s) under %s", sum(generated.values()),
                sum(real.values()), output)
    return AugmentSummary(output=output, generated=generated, real=real)


def _generated_size(model: Any) -> int:
    z = sample_latents(1, model.nz, 0)
    return next(generate_batches(model, z, 0, 1)).shape[-1]


def _write_generated(model: Any, folder: Path, per_class: int, class_ids: Sequence[int], width: int,
                     seed: int, truncation: Optional[float], batch_size: int) -> Dict[int, int]:
    counts = {}
    digits = len(str(max(per_class - 1, 0)))
    for class_id in class_ids:
        sub = folder / f"{class_id:0{width}d}"
        sub.mkdir(parents=True, exist_ok=True)
        counts[class_id] = 0
        if per_class == 0:
            continue
        z = sample_latents(per_class, model.nz, seed, class_id, truncation)
        for batch in generate_batches(model, z, class_id, batch_size):
            for image in batch:
                write_bytes(sub / f"gen_{counts[class_id]:0{digits}d}.png", encode_image(to_uint8(image)))
                counts[class_id] += 1
    return counts


def _write_real(folder: Path, images: Optional[np.ndarray], labels: Optional[np.ndarray], width: int,
                size: int) -> Dict[int, int]:
    counts: Dict[int, int] = {}
    if images is None:
        return counts
    images = resize_images(images.astype(np.float32), size)
    digits = len(str(max(len(images) - 1, 0)))
    for image, label in zip(images, labels):
        label = int(label)
        sub = folder / f"{label:0{width}d}"
        sub.mkdir(parents=True, exist_ok=True)
        write_bytes(sub / f"real_{counts.get(label, 0):0{digits}d}.png", encode_image(to_uint8(image)))
        counts[label] = counts.get(label, 0) + 1
    return counts
