"""GPEN face enhancement of face crops, as PaddleGAN's ``FaceEnhancement`` does it.

Each crop is brought to the network's size S (central square, ``INTER_AREA`` resize), scaled
to [-1, 1], restored by GPEN, and blended back over the input with a feathered rectangle
(PaddleGAN's: rectangle (26, 26)-(486, 486) at S = 512, blurred twice by a 101x101 Gaussian,
sigma 11; scaled with S). Two deliberate differences, both within one 8-bit level at S-sized
inputs: the restored pixels are rounded instead of truncated, and the blend happens at the
crop's own resolution, so the unmasked border keeps its original pixels.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Optional, Union

import cv2
import numpy as np
import paddle

from ppgan_app.errors import InputError, WeightsUnavailableError
from ppgan_app.faces.enhancement.gpen import GPEN
from ppgan_app.utils import download
from ppgan_app.weights.reader import load_strict, read_weights

logger = logging.getLogger(__name__)

WEIGHTS_NAME = "gpen-512"      # key of PaddleGAN's GPEN-512.pdparams in download.WEIGHT_URLS
PUBLISHED_SIZE = 512
# Saved buffers a weights file may lack without harm: the generator's fixed noise maps (unused
# by GPEN) and the constant up-sampling kernels (rebuilt by the network).
OPTIONAL_BUFFERS = ("upsample.kernel",) + tuple(f"noises.noise_{i}" for i in range(32))


def feather_mask(size: int) -> np.ndarray:
    """PaddleGAN's blend mask at side ``size``: ``[size, size]`` float32 in [0, 1].

    At 512 exactly PaddleGAN's; other sizes scale the rectangle, kernel and sigma.
    """
    scale = size / PUBLISHED_SIZE
    lo, hi = int(round(26 * scale)), int(round(486 * scale))
    ksize = max(3, int(round(101 * scale)) | 1)
    mask = np.zeros((size, size), np.float32)
    cv2.rectangle(mask, (lo, lo), (hi, hi), (1, 1, 1), -1, cv2.LINE_AA)
    for _ in range(2):
        mask = cv2.GaussianBlur(mask, (ksize, ksize), 11 * scale)
    return mask


def load_gpen_weights(net: GPEN, path: Path) -> None:
    """Load ``path`` into ``net`` strictly (nothing is loaded when a key does not fit);
    only the buffers in ``OPTIONAL_BUFFERS`` may be absent.

    Raises:
        CheckpointError: unreadable file, or keys missing / unexpected / mis-shaped (the
            message gives the count and the first one).
    """
    hint = "pass PaddleGAN's GPEN-512.pdparams"
    state = read_weights(path, "GPEN weights", hint=hint)
    load_strict(net, state, f"GPEN weights file {path}", f"GPEN(size={net.size})",
                hint=f"{hint} (or weights made for this architecture)", may_lack=OPTIONAL_BUFFERS)
    logger.info("loaded GPEN weights %s (%d tensors)", path, len(state))


def resolve_gpen_weights(weight_path: Optional[Union[str, Path]]) -> Path:
    """A local weights file, or PaddleGAN's GPEN-512 from the cache (downloaded once).

    Raises:
        WeightsUnavailableError: the file is missing or cannot be downloaded; the message
            names the URL, the cache path and how to pass a local file.
    """
    if weight_path is not None:
        path = Path(weight_path).expanduser()
        if not path.is_file():
            raise WeightsUnavailableError(f"GPEN weights file {path} does not exist; pass the "
                                          f"path of PaddleGAN's GPEN-512.pdparams")
        return path
    url, target = download.WEIGHT_URLS[WEIGHTS_NAME], download.cached_path(WEIGHTS_NAME)
    try:
        return download.resolve_weights(WEIGHTS_NAME)
    except WeightsUnavailableError as err:
        cause = f" ({err.__cause__})" if err.__cause__ is not None else ""
        raise WeightsUnavailableError(
            f"GPEN weights for face enhancement are not available: could not download {url} "
            f"to {target}{cause}; fetch that URL elsewhere and copy the file to {target} (set "
            f"{download.CACHE_ENV} to move the cache); from Python, FaceEnhancer(weight_path=...) "
            f"also takes a local file") from err


def _central_square(image: np.ndarray) -> tuple:
    """``(top, left, side)`` of the central square of an ``[H, W, 3]`` image."""
    h, w = image.shape[:2]
    side = min(h, w)
    return (h - side) // 2, (w - side) // 2, side


def _resize(image: np.ndarray, side: int) -> np.ndarray:
    """Square resize: ``INTER_AREA`` when shrinking (PaddleGAN's choice), linear when growing."""
    if image.shape[0] == side:
        return image
    interp = cv2.INTER_AREA if image.shape[0] > side else cv2.INTER_LINEAR
    return cv2.resize(image, (side, side), interpolation=interp)


class FaceEnhancer:
    """GPEN restoration of face crops (PaddleGAN's ``FaceEnhancement`` with GPEN-512).

    Args:
        weight_path: a GPEN state dict file; None = PaddleGAN's ``GPEN-512.pdparams``
            from the cache (downloaded once), which needs the published architecture.
        size: S, the network's face side (512 published).
        batch_size: crops per network call (activation memory grows with it).
        style_dim, n_mlp, channel_multiplier, channel_divisor: GPEN architecture (published:
            512, 8, 2, 1); other values only with ``weight_path`` (tiny test models).

    Raises (at construction):
        InputError: bad size / batch_size, or a non-published architecture without weights.
        WeightsUnavailableError: weights neither cached nor downloadable, or a missing file.
        CheckpointError: the weights do not fit the architecture.
    """

    def __init__(self, weight_path: Optional[Union[str, Path]] = None, size: int = PUBLISHED_SIZE,
                 batch_size: int = 1, style_dim: int = 512, n_mlp: int = 8,
                 channel_multiplier: int = 2, channel_divisor: int = 1) -> None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise InputError(f"enhancer batch_size must be a positive integer, got {batch_size!r}")
        published = (size, style_dim, n_mlp, channel_multiplier, channel_divisor) == (
            PUBLISHED_SIZE, 512, 8, 2, 1)
        if weight_path is None and not published:
            raise InputError("only the published GPEN-512 architecture has downloadable weights; "
                             "pass weight_path for other sizes")
        path = resolve_gpen_weights(weight_path)       # before building 70 M parameters
        self.net = GPEN(size, style_dim, n_mlp, channel_multiplier=channel_multiplier,
                        channel_divisor=channel_divisor)
        load_gpen_weights(self.net, path)
        self.net.eval()
        self.size = size
        self.batch_size = batch_size
        self.mask = feather_mask(size)

    def enhance(self, crops: np.ndarray) -> np.ndarray:
        """Restore face crops.

        crops: ``[n, H, W, 3]`` uint8 RGB (non-square crops: their central square is
        restored, the rest kept). Returns ``[n, H, W, 3]`` uint8 RGB.
        """
        crops = self._check(crops)
        out = crops.copy()
        if len(crops) == 0:
            return out
        top, left, side = _central_square(crops[0])
        squares = crops[:, top:top + side, left:left + side]
        mask = _resize(self.mask, side)[..., None]
        for start in range(0, len(crops), self.batch_size):
            chunk = squares[start:start + self.batch_size]
            restored = self.restore(np.stack([_resize(face, self.size) for face in chunk]))
            restored = np.stack([_resize(face, side) for face in restored]).astype(np.float32)
            blended = restored * mask + chunk.astype(np.float32) * (1.0 - mask)
            out[start:start + len(chunk), top:top + side, left:left + side] = \
                np.clip(np.rint(blended), 0, 255).astype(np.uint8)
        return out

    def restore(self, faces: np.ndarray) -> np.ndarray:
        """The network alone: ``[n, S, S, 3]`` uint8 RGB -> ``[n, S, S, 3]`` uint8 RGB."""
        x = paddle.to_tensor(faces.astype(np.float32).transpose(0, 3, 1, 2))
        x = (x / 255.0 - 0.5) / 0.5
        with paddle.no_grad():
            y = self.net(x)
        y = paddle.clip(y * 0.5 + 0.5, 0.0, 1.0) * 255.0
        return np.rint(y.numpy().transpose(0, 2, 3, 1)).astype(np.uint8)

    @staticmethod
    def _check(crops: Any) -> np.ndarray:
        if not isinstance(crops, np.ndarray) or crops.dtype != np.uint8:
            raise InputError(f"face crops must be a uint8 numpy array, got "
                             f"{getattr(crops, 'dtype', type(crops).__name__)}")
        if crops.ndim != 4 or crops.shape[-1] != 3 or min(crops.shape[1:3], default=0) < 1:
            raise InputError(f"face crops must be [n, H, W, 3] RGB, got shape {list(crops.shape)}")
        return crops
