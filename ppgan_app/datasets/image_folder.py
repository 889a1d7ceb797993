"""Images from a folder: flat (one class) or one sub-folder per class (ImageNet layout)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import cv2
import numpy as np
from paddle.io import Dataset

from ppgan_app.datasets.transforms import build_transforms
from ppgan_app.errors import InputError
from ppgan_app.registries import DATASETS

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


def _images_in(folder: Path, extensions: Sequence[str]) -> List[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in extensions)


def scan_image_folder(root: Path, extensions: Sequence[str] = IMAGE_EXTENSIONS
                      ) -> Tuple[List[Tuple[Path, int]], List[str]]:
    """``([(path, class_id), ...], class_names)``.

    Sub-folders that hold images are classes. When every sub-folder is named by a number
    (``0/``, ``3/``, ``07/``: the layout ``tools/generate.py`` writes), that number is the
    class id, so a subset of classes keeps its labels; otherwise ids count from 0 in name
    order. ``class_names[i]`` names the folder of class ``i`` ("" for ids with no folder).
    Without sub-folders, the images directly in ``root`` form the single class ``root.name``.
    """
    class_dirs = sorted(d for d in root.iterdir() if d.is_dir() and _images_in(d, extensions))
    if not class_dirs:
        return [(p, 0) for p in _images_in(root, extensions)], [root.name]
    ids = _class_ids([d.name for d in class_dirs])
    samples = [(p, ids[d.name]) for d in class_dirs for p in _images_in(d, extensions)]
    names = [""] * (max(ids.values()) + 1)
    for name, class_id in ids.items():
        names[class_id] = name
    return samples, names


def _class_ids(names: Sequence[str]) -> Dict[str, int]:
    """Folder name -> class id: the number itself when all names are numbers, else the rank."""
    if all(name.isdigit() for name in names):
        ids = {name: int(name) for name in names}
        if len(set(ids.values())) == len(ids):
            return ids
    return {name: i for i, name in enumerate(sorted(names))}


@DATASETS.register
class ImageFolderDataset(Dataset):
    """Items ``{"img": [C, H, W] float32 in [-1, 1], "class_id": int64}`` from image files.

    Args:
        data_root: a folder of images, or of class sub-folders of images.
        channels: 1 (grayscale) or 3 (RGB).
        transforms: transform entries; give a ``Resize`` when the images differ in size.
        extensions: file suffixes to accept (lower case).

    Loader keys (``batch_size``, ``num_workers``, ``shuffle``, ``drop_last``) are popped by the engine.
    """

    def __init__(self, data_root: str, channels: int = 3,
                 transforms: Optional[Sequence[Mapping[str, Any]]] = None,
                 extensions: Sequence[str] = IMAGE_EXTENSIONS) -> None:
        super().__init__()
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {channels}")
        self.data_root, self.channels = Path(data_root), channels
        if not self.data_root.is_dir():
            raise FileNotFoundError(f"image folder {self.data_root.resolve()} does not exist: create it with "
                                    f"your images (or one sub-folder of images per class), or set "
                                    f"-o dataset.train.data_root=<folder>")
        self.samples, self.class_names = scan_image_folder(self.data_root, tuple(extensions))
        if not self.samples:
            raise FileNotFoundError(f"no images ({', '.join(extensions)}) in {self.data_root.resolve()} "
                                    f"or its sub-folders")
        self.transform = build_transforms(transforms)
        logger.info("image folder %s: %d images, %d classes", self.data_root, len(self.samples),
                    len({class_id for _, class_id in self.samples}))

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> Dict[str, np.ndarray]:
        path, class_id = self.samples[index]
        return {"img": self.transform(read_image(path, self.channels)),
                "class_id": np.asarray(class_id, dtype="int64")}


def read_image(path: Path, channels: int = 3) -> np.ndarray:
    """``[H, W, 3]`` RGB (or ``[H, W, 1]``) uint8 from an image file (alpha dropped).

    Raises:
        InputError: missing, empty or undecodable file.
    """
    flag = cv2.IMREAD_GRAYSCALE if channels == 1 else cv2.IMREAD_COLOR
    img = cv2.imread(str(path), flag)
    if img is None:
        reason = "the file is empty" if path.is_file() and path.stat().st_size == 0 else (
            "not a readable image (damaged, or a format OpenCV cannot decode)" if path.is_file()
            else "the file is gone")
        raise InputError(f"cannot read image {path}: {reason}; remove or replace it")
    return img[:, :, None] if channels == 1 else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
