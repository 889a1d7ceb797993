"""MNIST and Fashion-MNIST from local idx files (gzipped or raw), with labels.

The four files of one dataset go in one folder (``data_root``)::

    train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz
    t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz

Nothing is downloaded: a missing file raises ``FileNotFoundError`` saying where to put it;
a damaged one (truncated, not gzip, wrong header, image/label counts that differ) raises
``ppgan_app.errors.InputError`` naming the file and what is wrong with it.
"""
from __future__ import annotations

import gzip
import logging
import struct
import zlib
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import numpy as np
from paddle.io import Dataset

from ppgan_app.datasets.transforms import build_transforms
from ppgan_app.errors import InputError
from ppgan_app.registries import DATASETS

logger = logging.getLogger(__name__)

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_PREFIX = {"train": "train", "test": "t10k"}


_FIX = "replace it with a complete copy of the file"


def read_idx(path: str) -> np.ndarray:
    """Read one idx file (``.gz`` or raw) into an array of its stored shape and type.

    Raises:
        InputError: the file is unreadable, not gzip (for ``.gz``), truncated, or not idx.
    """
    data = _read_bytes(path)
    if not data:
        raise InputError(f"{path} is empty; {_FIX}")
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise InputError(f"{path} is not an idx file (bad magic number); {_FIX}")
    ndim = data[3]
    if len(data) < 4 + 4 * ndim:
        raise InputError(f"{path} is truncated (its header is incomplete); {_FIX}")
    shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    itemsize = np.dtype(_DTYPES[data[2]]).itemsize
    size = (len(data) - 4 - 4 * ndim) // itemsize
    if size != int(np.prod(shape)):
        raise InputError(f"{path}: header says shape {tuple(shape)} but holds {size} values "
                         f"(truncated or damaged); {_FIX}")
    return np.frombuffer(data, dtype=_DTYPES[data[2]], offset=4 + 4 * ndim, count=size).reshape(shape)


def _read_bytes(path: str) -> bytes:
    """The (decompressed) bytes of ``path``; damage and read errors become ``InputError``."""
    gz = str(path).endswith(".gz")
    try:
        with (gzip.open if gz else open)(path, "rb") as handle:
            return handle.read()
    except gzip.BadGzipFile:
        raise InputError(f"{path} is not a gzip file although it ends in .gz; {_FIX} "
                         f"(or drop the .gz suffix if it is an uncompressed idx file)") from None
    except (EOFError, zlib.error):
        raise InputError(f"{path} is truncated or damaged (the gzip stream ends early or is "
                         f"corrupt); {_FIX}") from None
    except OSError as err:
        raise InputError(f"cannot read {path}: {err.strerror or err}") from None


def write_idx(path: str, array: np.ndarray) -> None:
    """Write a uint8 array as an idx file (``.gz`` when ``path`` ends so); used by tests and tools."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as handle:
        handle.write(header + array.tobytes())


def _find(folder: Path, stem: str) -> Optional[Path]:
    """``stem`` with or without ``.gz``, also the ``train-images.idx3-ubyte`` spelling."""
    for name in (stem, stem.replace("-idx", ".idx")):
        for candidate in (folder / (name + ".gz"), folder / name):
            if candidate.is_file():
                return candidate
    return None


@DATASETS.register
class MNISTDataset(Dataset):
    """Handwritten digits as dicts ``{"img": [1, H, W] float32 in [-1, 1], "class_id": int64}``.

    Args:
        data_root: folder with the idx files.
        mode: ``train`` (60,000 images) or ``test`` (10,000).
        transforms: transform entries (see ``datasets.transforms``); ``Normalize`` is appended
            when missing, so items are always in [-1, 1] by default.
        max_samples: keep only the first N images (quick runs and tests).

    The loader keys of a dataset config (``batch_size``, ``num_workers``, ``shuffle``,
    ``drop_last``) are popped by the engine and never reach this constructor.
    """

    dataset_name = "MNIST"
    class_names: Tuple[str, ...] = tuple(str(i) for i in range(10))
    download_hint = ("download the four idx files of MNIST (e.g. from "
                     "https://ossci-datasets.s3.amazonaws.com/mnist/ or yann.lecun.com/exdb/mnist)")

    def __init__(self, data_root: str, mode: str = "train",
                 transforms: Optional[Sequence[Mapping[str, Any]]] = None,
                 max_samples: Optional[int] = None) -> None:
        super().__init__()
        if mode not in _PREFIX:
            raise ValueError(f"mode must be 'train' or 'test', got {mode!r}")
        self.data_root, self.mode = Path(data_root), mode
        images_path, labels_path = self._locate()
        self.images = read_idx(str(images_path))
        self.labels = read_idx(str(labels_path)).astype("int64")
        if self.images.ndim != 3:
            raise InputError(f"{images_path}: expected images [N, H, W], got shape {self.images.shape}; "
                             f"is it an images file?")
        if self.labels.ndim != 1 or len(self.images) != len(self.labels):
            raise InputError(f"{images_path} holds {len(self.images)} images but {labels_path} holds "
                             f"labels of shape {self.labels.shape}; the two files must be of one "
                             f"dataset and split")
        if max_samples is not None:
            self.images, self.labels = self.images[:max_samples], self.labels[:max_samples]
        self.transform = build_transforms(transforms)
        logger.info("%s %s: %d images from %s", self.dataset_name, mode, len(self.images), self.data_root)

    def _locate(self) -> Tuple[Path, Path]:
        prefix = _PREFIX[self.mode]
        stems = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
        found = [_find(self.data_root, stem) for stem in stems]
        if None in found:
            missing = [s + "[.gz]" for s, f in zip(stems, found) if f is None]
            where = self.data_root.resolve()
            state = "does not exist" if not self.data_root.is_dir() else f"lacks {', '.join(missing)}"
            raise FileNotFoundError(
                f"{self.dataset_name} data not found: {where} {state}. Put the idx files "
                f"(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
                f"t10k-labels-idx1-ubyte.gz; gzipped or not) in that folder, or point the config at "
                f"another with -o dataset.{self.mode}.data_root=<folder>. To get them, "
                f"{self.download_hint}; nothing is downloaded automatically.")
        return found[0], found[1]

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> Dict[str, np.ndarray]:
        img = self.transform(self.images[index][:, :, None])
        return {"img": img, "class_id": np.asarray(self.labels[index], dtype="int64")}


@DATASETS.register
class FashionMNISTDataset(MNISTDataset):
    """Zalando's Fashion-MNIST: same format and file names as ``MNISTDataset``, 10 garment classes."""

    dataset_name = "Fashion-MNIST"
    class_names = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
    download_hint = ("download the four files yourself from "
                     "https://github.com/zalandoresearch/fashion-mnist (folder data/fashion)")
