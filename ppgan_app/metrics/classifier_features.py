"""GAN quality in the feature space of a small classifier trained on the data set (offline).

Inception weights cannot be fetched offline, so, as TF-GAN does for MNIST, features are the
penultimate activations of ``models.classifier.FeatureClassifier`` trained on the data set
itself (``tools/train_classifier.py``). On those features:

* **classifier-feature FD** (not FID: other features, other numbers): the Fréchet distance
  between Gaussians fitted to generated and real features;
* **KID** (Bińkowski et al., 2018): unbiased MMD² with the kernel ``(x.y / d + 1)^3``,
  averaged over random subsets;
* **precision / recall** (Kynkäänniemi et al., 2019): the fraction of generated samples inside
  the real k-NN manifold, and of real samples inside the generated one;
* **class coverage / entropy** of the classifier's predictions on generated samples (mode
  collapse shows as missing classes).

A figure means little without the floor beside it: the same measures between two real
sets of the same size (train vs test), ``real_floor`` in ``apps.gan.quality``.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ppgan_app.errors import CheckpointError, ConfigError
from ppgan_app.metrics.base import Metric
from ppgan_app.metrics.frechet import frechet_distance
from ppgan_app.models.classifier import CHECKPOINT_KIND, FeatureClassifier, predict
from ppgan_app.registries import METRICS
from ppgan_app.weights.reader import load_strict, read_weights

logger = logging.getLogger(__name__)


# --- the feature network ---------------------------------------------------------------------
def load_classifier(path: str | Path) -> Tuple[FeatureClassifier, Dict[str, Any]]:
    """The classifier saved by ``apps.classifier.save_classifier`` (eval mode) and its ``meta``.

    Raises:
        CheckpointError: missing, unreadable, or not a feature-classifier checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"classifier checkpoint not found: {path}; make one with "
                              f"python tools/train_classifier.py --data_root <fashion-mnist folder> "
                              f"--output {path}")
    state = read_weights(path, "classifier checkpoint")
    if not isinstance(state, dict) or state.get("kind") != CHECKPOINT_KIND:
        raise CheckpointError(f"{path} is not a feature-classifier checkpoint (make one with "
                              f"tools/train_classifier.py)")
    try:
        net = FeatureClassifier(**state["arch"])
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: bad classifier architecture entry ({err})") from None
    load_strict(net, state.get("net"), f"classifier checkpoint {path}", "its feature classifier")
    net.eval()
    return net, dict(state.get("meta") or {})


# --- measures on feature arrays ------------------------------------------------------------
def feature_fd(fake: np.ndarray, real: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to ``[N, D]`` and ``[M, D]`` features."""
    if len(fake) < 2 or len(real) < 2:
        raise ValueError(f"need at least 2 samples per set, got {len(fake)} and {len(real)}")
    return frechet_distance(fake.mean(0), np.cov(fake, rowvar=False), real.mean(0), np.cov(real, rowvar=False))


def _poly_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a @ b.T / a.shape[1] + 1.0) ** 3


def kid(fake: np.ndarray, real: np.ndarray, subsets: int = 10, subset_size: int = 1000,
        seed: int = 0) -> Tuple[float, float]:
    """KID: mean and standard deviation over ``subsets`` of the unbiased MMD² estimate.

    Each subset draws ``min(subset_size, len(fake), len(real))`` items from each set without
    replacement. Unbiased: two samples of one distribution give values around 0 (either sign).
    """
    m = min(subset_size, len(fake), len(real))
    if m < 2:
        raise ValueError(f"KID needs at least 2 samples per set, got {len(fake)} and {len(real)}")
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(subsets):
        x = fake[rng.choice(len(fake), m, replace=False)]
        y = real[rng.choice(len(real), m, replace=False)]
        kxx, kyy, kxy = _poly_kernel(x, x), _poly_kernel(y, y), _poly_kernel(x, y)
        off = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        values.append(off - 2.0 * kxy.mean())
    return float(np.mean(values)), float(np.std(values))


def _pairwise_sq(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d, 0.0)


def _knn_radii(feats: np.ndarray, k: int) -> np.ndarray:
    """Squared distance of each item to its k-th nearest other item."""
    d = _pairwise_sq(feats, feats)
    return np.sort(d, axis=1)[:, k]  # column 0 is the item itself


def _inside(query: np.ndarray, support: np.ndarray, radii: np.ndarray, chunk: int = 1000) -> np.ndarray:
    """For each query item: is it within some support item's k-NN ball?"""
    hits = [(_pairwise_sq(query[i:i + chunk], support) <= radii[None, :]).any(axis=1)
            for i in range(0, len(query), chunk)]
    return np.concatenate(hits)


def precision_recall(fake: np.ndarray, real: np.ndarray, k: int = 3) -> Tuple[float, float]:
    """Improved precision and recall (k-NN manifolds of ``[N, D]`` feature sets)."""
    if min(len(fake), len(real)) <= k:
        raise ValueError(f"precision/recall with k={k} needs more than {k} samples per set")
    precision = _inside(fake, real, _knn_radii(real, k)).mean()
    recall = _inside(real, fake, _knn_radii(fake, k)).mean()
    return float(precision), float(recall)


def class_statistics(probs: np.ndarray) -> Dict[str, float]:
    """From ``[N, K]`` class probabilities of generated images.

    ``coverage``: fraction of the K classes that receive at least half of a fair share (1/2K)
    of the predictions; ``entropy``: entropy of the predicted-class histogram divided by log K
    (1 = perfectly balanced); ``confidence``: mean top probability.
    """
    n_class = probs.shape[1]
    share = np.bincount(probs.argmax(1), minlength=n_class) / len(probs)
    nonzero = share[share > 0]
    return {"coverage": float((share >= 0.5 / n_class).mean()),
            "entropy": float(-(nonzero * np.log(nonzero)).sum() / np.log(n_class)),
            "confidence": float(probs.max(1).mean())}


def quality_figures(fake_feats: np.ndarray, fake_probs: np.ndarray, real_feats: np.ndarray,
                    k: int = 3, seed: int = 0) -> Dict[str, float]:
    """Every measure of this module for one generated set against one real set."""
    kid_mean, kid_std = kid(fake_feats, real_feats, seed=seed)
    precision, recall = precision_recall(fake_feats, real_feats, k)
    return {"fd": feature_fd(fake_feats, real_feats), "kid": kid_mean, "kid_std": kid_std,
            "precision": precision, "recall": recall, **class_statistics(fake_probs)}


# --- the trainer's metric entry ----------------------------------------------------------------
@METRICS.register
class ClassifierFeatureDistance(Metric):
    """Classifier-feature FD (the returned value) plus KID, precision/recall and class coverage
    (logged, and kept in ``last_figures``), for the trainer's ``validate.metrics``.

    ``update(fakes, reals)``: two ``[N, C, H, W]`` batches in [-1, 1]; the real batch comes from
    ``dataset.test`` with the same resize transforms as training, so both sets take the same
    resolution round trip through the classifier.

    Args:
        checkpoint: the classifier made by ``tools/train_classifier.py``.
        if_missing: ``error`` (default) or ``warn``: without the checkpoint, report nothing and
            say once how to make it (lets shipped configs run before the classifier exists).
        k: neighbours of the precision/recall manifolds.
    """

    IF_MISSING = ("error", "warn")

    def __init__(self, checkpoint: str, if_missing: str = "error", k: int = 3) -> None:
        if if_missing not in self.IF_MISSING:
            raise ConfigError(f"ClassifierFeatureDistance: if_missing must be one of {self.IF_MISSING}, "
                              f"got {if_missing!r}")
        self.k = int(k)
        self.net = None
        try:
            self.net, _ = load_classifier(checkpoint)
        except CheckpointError as err:
            if if_missing == "error":
                raise
            logger.warning("classifier-feature metrics off: %s", err)
        self.last_figures: Dict[str, float] = {}
        self._fake: List[np.ndarray] = []
        self._probs: List[np.ndarray] = []
        self._real: List[np.ndarray] = []

    def reset(self) -> None:
        self._fake, self._probs, self._real = [], [], []

    def update(self, preds: Any, gts: Any) -> None:
        if self.net is None:
            return
        fake = preds.numpy() if hasattr(preds, "numpy") else np.asarray(preds)
        real = gts.numpy() if hasattr(gts, "numpy") else np.asarray(gts)
        feats, probs = predict(self.net, fake)
        self._fake.append(feats)
        self._probs.append(probs)
        self._real.append(predict(self.net, real)[0])

    def accumulate(self) -> Optional[float]:
        if self.net is None or not self._fake:
            return None
        self.last_figures = quality_figures(np.concatenate(self._fake), np.concatenate(self._probs),
                                            np.concatenate(self._real), self.k)
        logger.info("classifier features: %s", ", ".join(f"{k} {v:.4g}" for k, v in self.last_figures.items()))
        return self.last_figures["fd"]
