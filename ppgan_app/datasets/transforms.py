"""Image transforms built from a config list, e.g.::

    transforms:
      - {name: Resize, size: 32}
      - {name: RandomHorizontalFlip, prob: 0.5}
      - {name: Normalize, mean: 127.5, std: 127.5}

Transforms before ``Normalize`` take and return ``[H, W, C]`` uint8 arrays; ``Normalize``
returns ``[C, H, W]`` float32 (with the defaults, in [-1, 1]) and must come last.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from ppgan_app.utils.registry import Registry, build_from_config

TRANSFORMS = Registry("transforms")
Size = Union[int, Sequence[int]]
_INTERPOLATION = {"nearest": cv2.INTER_NEAREST, "bilinear": cv2.INTER_LINEAR,
                  "bicubic": cv2.INTER_CUBIC, "area": cv2.INTER_AREA}


def _hw(size: Size) -> Tuple[int, int]:
    if isinstance(size, int):
        return size, size
    if len(size) != 2:
        raise ValueError(f"size must be an int or [height, width], got {size!r}")
    return int(size[0]), int(size[1])


@TRANSFORMS.register
class Resize:
    """Resize ``[H, W, C]`` uint8 to ``size`` (int for square, or ``[h, w]``)."""

    def __init__(self, size: Size, interpolation: str = "bilinear") -> None:
        if interpolation not in _INTERPOLATION:
            raise ValueError(f"interpolation must be one of {sorted(_INTERPOLATION)}, got {interpolation!r}")
        self.height, self.width = _hw(size)
        self.flag = _INTERPOLATION[interpolation]

    def __call__(self, img: np.ndarray) -> np.ndarray:
        if img.shape[:2] == (self.height, self.width):
            return img
        out = cv2.resize(img, (self.width, self.height), interpolation=self.flag)
        return out.reshape(self.height, self.width, img.shape[2])


@TRANSFORMS.register
class CenterCrop:
    """Crop the central ``size`` region of ``[H, W, C]``."""

    def __init__(self, size: Size) -> None:
        self.height, self.width = _hw(size)

    def __call__(self, img: np.ndarray) -> np.ndarray:
        h, w = img.shape[:2]
        if h < self.height or w < self.width:
            raise ValueError(f"cannot crop {self.height}x{self.width} from a {h}x{w} image")
        top, left = (h - self.height) // 2, (w - self.width) // 2
        return img[top:top + self.height, left:left + self.width]


@TRANSFORMS.register
class RandomHorizontalFlip:
    """Mirror ``[H, W, C]`` left-right with probability ``prob`` (numpy's global RNG)."""

    def __init__(self, prob: float = 0.5) -> None:
        self.prob = float(prob)

    def __call__(self, img: np.ndarray) -> np.ndarray:
        return img[:, ::-1] if np.random.random() < self.prob else img


@TRANSFORMS.register
class Normalize:
    """``[H, W, C]`` uint8 -> ``[C, H, W]`` float32 ``(img - mean) / std``.

    The defaults (127.5, 127.5) map [0, 255] to [-1, 1]. ``mean``/``std`` are scalars or one
    value per channel, in pixel units as in PaddleGAN's configs.
    """

    def __init__(self, mean: Union[float, Sequence[float]] = 127.5,
                 std: Union[float, Sequence[float]] = 127.5) -> None:
        self.mean = np.asarray(mean, dtype="float32").reshape(-1, 1, 1)
        self.std = np.asarray(std, dtype="float32").reshape(-1, 1, 1)

    def __call__(self, img: np.ndarray) -> np.ndarray:
        chw = np.ascontiguousarray(img.transpose(2, 0, 1)).astype("float32")
        return (chw - self.mean) / self.std


class Compose:
    """Apply transforms in order; ends with a ``Normalize`` (appended when the list lacks one)."""

    def __init__(self, transforms: Sequence[Callable[[np.ndarray], np.ndarray]]) -> None:
        self.transforms = list(transforms)
        if not self.transforms or not isinstance(self.transforms[-1], Normalize):
            if any(isinstance(t, Normalize) for t in self.transforms):
                raise ValueError("Normalize must be the last transform")
            self.transforms.append(Normalize())

    def __call__(self, img: np.ndarray) -> np.ndarray:
        for transform in self.transforms:
            img = transform(img)
        return img


def build_transforms(cfg: Optional[Sequence[Mapping[str, Any]]]) -> Compose:
    """A ``Compose`` from a list of ``name:`` entries (None or [] gives just ``Normalize``)."""
    return Compose([build_from_config(entry, TRANSFORMS) for entry in (cfg or [])])

