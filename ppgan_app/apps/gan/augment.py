"""Labelled augmentation: an image-folder data set of generated images, optionally merged with real ones.

    summary = write_augmented_dataset("cond_ckpt.pdparams", "augmented/", per_class=500,
                                      real_images=x, real_labels=y)

Layout (what ``ImageFolderDataset`` and torchvision's ``ImageFolder`` read)::

    augmented/<class_id>/gen_<index>.png    # M generated images per class (labelled by the condition)
    augmented/<class_id>/real_<index>.png   # the real images, when merged
    augmented/manifest.json                 # which GAN checkpoint, seed and filter made the images

Real images are resized to the generator's resolution so the data set has one image size.
As every result of the kit, the folder appears only complete (temp folder, renamed at the end).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

from ppgan_app.apps.gan.sampler import (check_labels, check_output_folder, check_sampling, encode_image,
                                        generate_batches, load_generator_model, publish_folder,
                                        sample_latents, to_uint8, write_bytes)
from ppgan_app.apps.gan.labelled_data import resize_images
from ppgan_app.errors import InputError, OutputError, describe_os_error
from ppgan_app.utils.safe_files import clean_stale_temps, remove_quietly, temp_path

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"  # in the data set folder; ImageFolderDataset reads only the class folders


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
        write_manifest(tmp, {"checkpoint": str(Path(checkpoint).resolve()), "seed": seed,
                             "truncation": truncation, "filter": "none", "generated_per_class": per_class,
                             "real_images": sum(real.values())})
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


def write_manifest(folder: Path, manifest: Mapping[str, Any]) -> Path:
    """Write ``manifest`` as ``folder/manifest.json`` (the folder is still a temp folder)."""
    path = Path(folder) / MANIFEST_NAME
    path.write_text(json.dumps(dict(manifest), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def read_manifest(folder: str | Path) -> Dict[str, Any]:
    """The manifest of a data set folder written here; InputError when absent or unreadable."""
    path = Path(folder) / MANIFEST_NAME
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InputError(f"cannot read the manifest {path}: {err}; regenerate the data set") from None


def generate_labelled(model: Any, per_class: int, class_ids: Sequence[int], seed: int = 0,
                      truncation: Optional[float] = None, batch_size: int = 256) -> Tuple[np.ndarray, np.ndarray]:
    """``per_class`` images of each class in ``class_ids`` from a conditional GAN model.

    Returns images ``[N, C, H, W]`` float32 in [-1, 1] and their intended labels ``[N]`` int64;
    the noise of class ``c`` comes from ``(seed, c)``, as in ``write_augmented_dataset``.
    """
    images, labels = [], []
    for class_id in class_ids:
        z = sample_latents(per_class, model.nz, seed, class_id, truncation)
        for batch in generate_batches(model, z, class_id, batch_size):
            images.append(batch.astype(np.float32))
            labels.append(np.full(len(batch), class_id, np.int64))
    return np.concatenate(images), np.concatenate(labels)


def select_by_fidelity(probs: np.ndarray, labels: np.ndarray, per_class: int,
                       min_confidence: float = 0.0) -> np.ndarray:
    """Indices of the generated images a classifier labels as intended, most confident first.

    Args:
        probs: ``[N, n_class]`` class probabilities of the generated images (a classifier
            trained on the real images only).
        labels: ``[N]`` the labels the images were generated for.
        per_class: keep at most this many images of each class.
        min_confidence: also require ``probs[i, labels[i]] >= min_confidence``.

    Returns sorted indices; classes whose images are all rejected keep none.
    """
    confidence = probs[np.arange(len(labels)), labels]
    agree = (probs.argmax(axis=1) == labels) & (confidence >= min_confidence)
    keep = []
    for class_id in np.unique(labels):
        members = np.flatnonzero(agree & (labels == class_id))
        keep.append(members[np.argsort(-confidence[members], kind="stable")[:per_class]])
    return np.sort(np.concatenate(keep)) if keep else np.zeros(0, np.int64)


def write_labelled_folder(output: str | Path, images: np.ndarray, labels: np.ndarray,
                          manifest: Mapping[str, Any], prefix: str = "gen",
                          confidence: Optional[np.ndarray] = None) -> Path:
    """Write ``images`` ``[N, C, H, W]`` in [-1, 1] as ``output/<label>/<prefix>_<i>.png`` with
    ``manifest.json`` (plus, when given, each file's classifier ``confidence`` in its label).

    ``output`` appears only complete (temp folder, renamed at the end); it must be absent or empty.
    """
    output = check_output_folder(output, overwrite=False)
    clean_stale_temps(output)
    tmp = temp_path(output)
    width = len(str(max(int(labels.max()), 0))) if len(labels) else 1
    digits = len(str(max(len(images) - 1, 0)))
    scores: Dict[str, float] = {}
    try:
        for i, (image, label) in enumerate(zip(images, labels)):
            sub = tmp / f"{int(label):0{width}d}"
            sub.mkdir(parents=True, exist_ok=True)
            name = f"{sub.name}/{prefix}_{i:0{digits}d}.png"
            write_bytes(tmp / name, encode_image(to_uint8(image)))
            if confidence is not None:
                scores[name] = round(float(confidence[i]), 5)
        tmp.mkdir(parents=True, exist_ok=True)
        write_manifest(tmp, {**manifest, "images": len(images), **({"confidence": scores} if scores else {})})
        publish_folder(tmp, output)
    except OSError as err:
        raise OutputError(describe_os_error(err, output)) from None
    finally:
        remove_quietly(tmp)
    return output
