"""MNIST and Fashion-MNIST from idx files (gzipped or raw), with labels.

The four files of one dataset go in one folder (``data_root``, PaddleGAN's ``dataroot``)::

    train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz
    t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz

``data_root`` unset (or the data set's name, ``mnist`` / ``fashion-mnist``) means the kit's
cache, ``<cache>/datasets/<name>`` (``ppgan_app.utils.download.cache_dir``): files missing
there are downloaded on first use from the official location (then paddle.vision's mirror)
and checked against their published MD5, as ``paddle.vision.datasets`` does. Offline, the
error says in one line which files to put where. A folder named explicitly is read as it is
(nothing is downloaded into it). A damaged file (truncated, not gzip, wrong header,
image/label counts that differ) raises ``ppgan_app.errors.InputError`` naming it.
"""
from __future__ import annotations

import gzip
import logging
import struct
import zlib
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import numpy as np
from paddle.io import Dataset

from ppgan_app.datasets.transforms import build_transforms
from ppgan_app.errors import ConfigError, InputError
from ppgan_app.registries import DATASETS

logger = logging.getLogger(__name__)

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_PREFIX = {"train": "train", "test": "t10k"}


_FIX = "replace it with a complete copy of the file"


@dataclass(frozen=True)
class IdxSource:
    """Where a data set's four idx files are published: base URLs tried in order, and the MD5
    of each ``.gz`` file."""

    urls: Tuple[str, ...]
    md5: Mapping[str, str]


#: The published files (the official location first, then paddle.vision's mirror).
IDX_SOURCES: Dict[str, IdxSource] = {
    "mnist": IdxSource(
        ("https://ossci-datasets.s3.amazonaws.com/mnist/", "https://dataset.bj.bcebos.com/mnist/"),
        {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
         "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
         "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
         "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"}),
    "fashion-mnist": IdxSource(
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
         "https://dataset.bj.bcebos.com/fashion_mnist/"),
        {"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
         "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
         "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
         "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"}),
}


def cache_folder(name: str) -> Path:
    """Where the data set ``name`` (a key of ``IDX_SOURCES``) lives in the kit's cache."""
    from ppgan_app.utils.download import cache_dir
    return cache_dir() / "datasets" / name


def fetch_idx_files(name: str, mode: str) -> Path:
    """The cache folder of data set ``name`` holding its four idx files, downloading the
    missing ones (checked against their MD5); all four at once, so an offline user learns of
    every file in one message. ``mode`` names the split in the message's override.

    Raises:
        InputError: a file could not be downloaded; the message names every file to fetch,
            its URL and the folder to put it in.
        OutputError: the cache cannot be written (a file in its place, a full disk).
    """
    from ppgan_app.utils.download import check_folder, download

    folder, source = cache_folder(name), IDX_SOURCES[name]
    missing = [f for f in source.md5 if _find(folder, f[:-3]) is None]
    if missing:
        check_folder(folder)
    for index, file in enumerate(missing):
        errors = []
        for base in source.urls:
            try:
                download(base + file, folder / file, retries=2, md5=source.md5[file])
                break
            except (OSError, ValueError) as err:
                errors.append(err)
        else:
            reason = " ".join(str(getattr(errors[-1], "reason", errors[-1])).split())[:100]
            files = ", ".join(missing[index:])
            raise InputError(f"{name} is not in {folder} and could not be downloaded ({reason}); "
                             f"without internet, fetch {files} from {source.urls[0]} and put them "
                             f"in that folder, or give a folder holding them with "
                             f"-o dataset.{mode}.dataroot=<folder>")
    return folder


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
    cache_name = "mnist"  # its key in IDX_SOURCES and its folder in the cache
    class_names: Tuple[str, ...] = tuple(str(i) for i in range(10))

    def __init__(self, data_root: Optional[str] = None, mode: str = "train",
                 transforms: Optional[Sequence[Mapping[str, Any]]] = None,
                 max_samples: Optional[int] = None) -> None:
        super().__init__()
        if mode not in _PREFIX:
            raise ValueError(f"mode must be 'train' or 'test', got {mode!r}")
        self.mode = mode
        self.data_root = self._folder(data_root)
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

    def _folder(self, data_root: Optional[str]) -> Path:
        """An existing folder as it is; unset or this data set's name: the cache (downloaded)."""
        if data_root is not None and (Path(data_root).is_dir() or str(data_root) not in IDX_SOURCES):
            return Path(data_root)
        if data_root is not None and str(data_root) != self.cache_name:
            raise ConfigError(f"{self.dataset_name}: dataroot {data_root!r} names another data set; "
                              f"use {self.cache_name!r} or a folder")
        return fetch_idx_files(self.cache_name, self.mode)

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
                f"another with -o dataset.{self.mode}.dataroot=<folder>; without dataroot they "
                f"are downloaded into the kit's cache ({cache_folder(self.cache_name)}) on first "
                f"use (from {IDX_SOURCES[self.cache_name].urls[0]}).")
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
    cache_name = "fashion-mnist"
    class_names = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
