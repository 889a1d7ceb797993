"""Load PaddleGAN's detector weights through the kit's one weight resolver and reader."""
from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np

from ppgan_app.errors import CheckpointError, WeightsUnavailableError
from ppgan_app.weights.reader import load_strict, read_weights

logger = logging.getLogger(__name__)

PREDICTOR_FILE = "shape_predictor_68_face_landmarks.dat"
ENV_VAR = "PPGAN_APP_DLIB_LANDMARKS"
_DEBIAN_PATH = "/usr/share/dlib/" + PREDICTOR_FILE


def find_shape_predictor() -> Optional[str]:
    """Path of dlib's 68-point predictor file, or ``None`` when no source has it."""
    candidates = [os.environ.get(ENV_VAR)]
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            candidates.append(os.path.join(folder, "models", PREDICTOR_FILE))
    candidates.append(_DEBIAN_PATH)
    for path in candidates:
        if path and os.path.isfile(path):
            return path
    return None


def resolve_detector_file(name_or_path: str, purpose: str) -> Path:
    """Path of a detector's weight file (downloaded once and cached for known names).

    Raises:
        WeightsUnavailableError: not cached and not downloadable; the message names the URL,
            where to put the file, and the detectors that need no download.
    """
    from ppgan_app.utils.download import WEIGHT_URLS, cached_path, resolve_weights

    try:
        return Path(resolve_weights(name_or_path))
    except WeightsUnavailableError as err:
        if name_or_path not in WEIGHT_URLS:
            raise
        raise WeightsUnavailableError(
            f"{purpose} needs PaddleGAN's weights {WEIGHT_URLS[name_or_path]}, which could not "
            f"be downloaded; fetch that file elsewhere and copy it to {cached_path(name_or_path)}"
            ", or use --face_detector dlib or yunet (no downloads)") from err


def resolve_detector_files(names: Sequence[str], purpose: str) -> List[Path]:
    """Paths of several files a detector needs, each as :func:`resolve_detector_file`; when
    some cannot be had, one ``WeightsUnavailableError`` names every missing file at once
    (URL and where to copy it), so an offline user fetches them in one round."""
    from ppgan_app.utils.download import WEIGHT_URLS, cached_path

    paths, missing = [], []
    for name in names:
        try:
            paths.append(resolve_detector_file(name, purpose))
        except WeightsUnavailableError as err:
            if name not in WEIGHT_URLS:
                raise
            missing.append((name, err))
    if not missing:
        return paths
    files = "; ".join(f"{WEIGHT_URLS[n]} -> {cached_path(n)}" for n, _ in missing)
    raise WeightsUnavailableError(
        f"{purpose} needs {len(missing)} file(s) of PaddleGAN's that could not be downloaded "
        f"({_reason(missing[0][1])}): fetch each elsewhere and copy it into place: {files}; "
        f"or use --face_detector dlib or yunet (no downloads)") from missing[0][1]


def _reason(err: BaseException) -> str:
    cause = err.__cause__ if err.__cause__ is not None else err
    return " ".join(str(getattr(cause, "reason", cause)).split())[:120]


def load_net_weights(net, name_or_path: str, purpose: str) -> None:
    """Load a ``.pdparams`` state dict into ``net`` after checking every key and shape.

    Raises:
        WeightsUnavailableError: see :func:`resolve_detector_file`.
        CheckpointError: unreadable file, or keys/shapes that do not match the network.
    """
    path = resolve_detector_file(name_or_path, purpose)
    hint = "use PaddleGAN's published file (delete a damaged one so it is downloaded again)"
    state = read_weights(path, f"{purpose}: weights", hint=hint)
    load_strict(net, state, f"{purpose}: weights file {path}", "the expected network", hint=hint)
    logger.info("%s: loaded %s", purpose, path)


def load_anchors(name_or_path: str, purpose: str, count: int) -> np.ndarray:
    """An anchor table ``[count,4] float32`` ``(cx, cy, w, h)`` in [0, 1] units.

    Raises:
        CheckpointError: unreadable file or wrong shape.
    """
    path = resolve_detector_file(name_or_path, purpose)
    try:
        anchors = np.load(str(path), allow_pickle=False)
    except (OSError, ValueError) as err:
        raise CheckpointError(f"{purpose}: cannot read anchors {path} ({err})") from None
    if anchors.shape != (count, 4):
        raise CheckpointError(f"{purpose}: {path} holds anchors of shape {anchors.shape}, "
                              f"expected ({count}, 4)")
    return anchors.astype(np.float32)
