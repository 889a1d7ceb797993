"""Labelled image arrays for the quality tools: idx data sets and image folders as numpy.

Images come back as ``[N, C, H, W]`` float32 in [-1, 1], labels as ``[N]`` int64.
"""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import Optional, Tuple

import cv2
import numpy as np

from ppgan_app.apps.gan.classifier import uint8_to_unit
from ppgan_app.errors import InputError

DATASET_NAMES = ("fashion_mnist", "mnist")


def load_idx_arrays(data_root: str | Path, mode: str, dataset: str = "fashion_mnist",
                    max_samples: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray]:
    """The ``mode`` split (``train``/``test``) of an idx data set folder as arrays.

    Raises:
        InputError: the folder lacks the files or they are not valid idx files.
    """
    from ppgan_app.datasets.mnist import FashionMNISTDataset, MNISTDataset

    if dataset not in DATASET_NAMES:
        raise InputError(f"dataset must be one of {DATASET_NAMES}, got {dataset!r}")
    cls = FashionMNISTDataset if dataset == "fashion_mnist" else MNISTDataset
    try:
        data = cls(str(data_root), mode=mode, max_samples=max_samples)
    except FileNotFoundError as err:
        raise InputError(" ".join(str(err).split())) from None
    except (ValueError, EOFError, gzip.BadGzipFile, zlib.error, OSError) as err:
        raise InputError(f"cannot read the {mode} split under {data_root}: {err}") from None
    return uint8_to_unit(data.images), data.labels.astype(np.int64)


def resize_images(images: np.ndarray, size: int) -> np.ndarray:
    """``[N, C, H, W]`` float32 images resized to ``size x size`` (bilinear, as the data pipeline).

    Real images are brought to the generator's resolution this way, so that the classifier
    resizes real and generated images alike (the same round trip, e.g. 28 -> 32 -> 28).
    """
    n, c, h, w = images.shape
    if size == h and size == w:
        return images
    out = np.empty((n, c, size, size), np.float32)
    for i in range(n):
        for ch in range(c):
            out[i, ch] = cv2.resize(images[i, ch], (size, size), interpolation=cv2.INTER_LINEAR)
    return out


def per_class_subset(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Indices of ``per_class`` randomly chosen items of each class (sorted)."""
    rng = np.random.default_rng(seed)
    picks = []
    for y in np.unique(labels):
        members = np.flatnonzero(labels == y)
        if len(members) < per_class:
            raise InputError(f"class {y} has {len(members)} items, fewer than {per_class}")
        picks.append(rng.choice(members, per_class, replace=False))
    return np.sort(np.concatenate(picks))
