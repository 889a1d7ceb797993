"""FID and Inception Score with PaddleGAN's Inception-v3 weights, when the user has them.

The weights are PaddleGAN's ``InceptionV3.pdparams`` (``download.WEIGHT_URLS["inception-v3-fid"]``),
resolved like every other weight file of the kit: downloaded once into the cache folder, or a
local path; a missing file is a one-line ``WeightsUnavailableError`` saying where to put it.
Keys and shapes are checked before use. Unlike the classifier-feature FD, these numbers are
comparable with published FIDs computed the same way (pool features of 299x299 inputs, 2,048
dimensions), given enough samples (FID is biased upwards for small sets; 10k-50k is usual).

The Inception Score needs the 1008-way classifier ``fc``; PaddleGAN's FID network has none, so IS
is reported only when the weight file carries ``fc.weight`` / ``fc.bias``.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ppgan_app.errors import ConfigError, WeightsUnavailableError
from ppgan_app.metrics.base import Metric
from ppgan_app.metrics.frechet import frechet_distance_of_samples
from ppgan_app.models.inception import INPUT_SIZE, FIDInceptionV3
from ppgan_app.registries import METRICS
from ppgan_app.weights.reader import load_strict, read_weights

logger = logging.getLogger(__name__)

WEIGHTS_NAME = "inception-v3-fid"  # key in utils.download.WEIGHT_URLS


def load_inception(weights: str | Path = WEIGHTS_NAME, input_size: int = INPUT_SIZE) -> FIDInceptionV3:
    """The FID Inception network with ``weights`` (a known name or a file), eval mode
    (``input_size``: see ``FIDInceptionV3``; keep 299 for FID).

    Keys of the file beyond the network's (e.g. an auxiliary head) are ignored with a log line;
    missing keys or wrong shapes are an error.

    Raises:
        WeightsUnavailableError: not cached and not downloadable (names the URL and cache path).
        CheckpointError: unreadable file, or weights that do not fit the network.
    """
    from ppgan_app.utils import download

    try:
        path = download.resolve_weights(weights)
    except WeightsUnavailableError as err:
        if str(weights) != WEIGHTS_NAME:
            raise
        raise WeightsUnavailableError(
            f"Inception FID needs PaddleGAN's weights {download.WEIGHT_URLS[WEIGHTS_NAME]}, which are not "
            f"cached and could not be downloaded; fetch that file elsewhere and copy it to "
            f"{download.cached_path(WEIGHTS_NAME)} (or pass its path)") from err
    state = read_weights(path, "Inception weights")
    fc = state.get("fc.weight")
    n_class = int(np.shape(fc)[1]) if fc is not None and "fc.bias" in state else None
    net = FIDInceptionV3(n_class=n_class, input_size=input_size)
    extra = tuple(sorted(set(state) - set(net.state_dict())))
    if extra:
        logger.info("Inception weights %s: ignoring %d keys outside the FID network (%s...)", path,
                    len(extra), extra[0])
    load_strict(net, state, f"Inception weights file {path}", "the FID Inception network",
                ignore=extra)
    net.eval()
    return net


def inception_outputs(net: FIDInceptionV3, images: np.ndarray,
                      batch_size: int = 50) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Pool features ``[N, 2048]`` float64 and, with a classifier, probabilities ``[N, K]``.

    ``images``: ``[N, C, H, W]`` in [-1, 1], C = 1 (repeated to RGB) or 3.
    """
    import paddle
    import paddle.nn.functional as F

    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"expected images [N, 1 or 3, H, W], got shape {images.shape}")
    feats: List[np.ndarray] = []
    probs: List[np.ndarray] = []
    with paddle.no_grad():
        for start in range(0, len(images), batch_size):
            x = paddle.to_tensor(np.ascontiguousarray(images[start:start + batch_size], dtype=np.float32))
            if x.shape[1] == 1:
                x = x.tile([1, 3, 1, 1])
            f, logits = net(x)
            feats.append(f.numpy().astype(np.float64))
            if logits is not None:
                probs.append(F.softmax(logits, axis=1).numpy().astype(np.float64))
    return np.concatenate(feats), (np.concatenate(probs) if probs else None)


def fid_from_features(fake: np.ndarray, real: np.ndarray) -> float:
    """FID between ``[N, 2048]`` and ``[M, 2048]`` pool features."""
    return frechet_distance_of_samples(fake, real)


def inception_score(probs: np.ndarray, splits: int = 10) -> Tuple[float, float]:
    """Inception Score ``exp(E_x KL(p(y|x) || p(y)))``: mean and std over ``splits`` parts of ``[N, K]``."""
    splits = max(1, min(splits, len(probs)))
    scores = []
    for part in np.array_split(probs, splits):
        marginal = part.mean(axis=0, keepdims=True)
        kl = (part * (np.log(part + 1e-12) - np.log(marginal + 1e-12))).sum(axis=1)
        scores.append(float(np.exp(kl.mean())))
    return float(np.mean(scores)), float(np.std(scores))


def inception_figures(net: FIDInceptionV3, fake: np.ndarray, real: np.ndarray) -> Dict[str, float]:
    """``fid`` of ``fake`` against ``real`` (both ``[N, C, H, W]`` in [-1, 1]) and, with a
    classifier in ``net``, ``is`` / ``is_std`` of ``fake``."""
    fake_feats, fake_probs = inception_outputs(net, fake)
    real_feats, _ = inception_outputs(net, real)
    figures = {"fid": fid_from_features(fake_feats, real_feats)}
    if fake_probs is not None:
        figures["is"], figures["is_std"] = inception_score(fake_probs)
    return figures


@METRICS.register
class InceptionFID(Metric):
    """FID (returned) and, when the weights have a classifier, IS (in ``last_figures``).

    ``update(fakes, reals)``: ``[N, C, H, W]`` batches in [-1, 1].

    Args:
        weights: ``inception-v3-fid`` (PaddleGAN's file, cached/downloaded) or a path.
        if_missing: ``error`` (default) or ``warn``: without the weights, report nothing.
        input_size: keep 299 (FID); smaller only for tests.
    """

    IF_MISSING = ("error", "warn")

    def __init__(self, weights: str = WEIGHTS_NAME, if_missing: str = "error", input_size: int = INPUT_SIZE) -> None:
        if if_missing not in self.IF_MISSING:
            raise ConfigError(f"InceptionFID: if_missing must be one of {self.IF_MISSING}, got {if_missing!r}")
        self.net: Optional[FIDInceptionV3] = None
        try:
            self.net = load_inception(weights, input_size)
        except WeightsUnavailableError as err:
            if if_missing == "error":
                raise
            logger.warning("Inception FID off: %s", err)
        self.last_figures: Dict[str, float] = {}
        self.reset()

    def reset(self) -> None:
        self._fake: List[np.ndarray] = []
        self._real: List[np.ndarray] = []

    def update(self, preds: Any, gts: Any) -> None:
        if self.net is None:
            return
        self._fake.append(preds.numpy() if hasattr(preds, "numpy") else np.asarray(preds))
        self._real.append(gts.numpy() if hasattr(gts, "numpy") else np.asarray(gts))

    def accumulate(self) -> Optional[float]:
        if self.net is None or not self._fake:
            return None
        self.last_figures = inception_figures(self.net, np.concatenate(self._fake), np.concatenate(self._real))
        logger.info("Inception: %s", ", ".join(f"{k} {v:.4g}" for k, v in self.last_figures.items()))
        return self.last_figures["fid"]
