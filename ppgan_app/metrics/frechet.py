"""Fréchet distance between generated and real images, on features that work offline.

The Fréchet distance between Gaussians fitted to two feature sets is
``||mu_1 - mu_2||^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^(1/2))``. FID is this distance on
Inception-v3 pool features; Inception weights are not available offline, so this module
does **not** compute FID and its numbers are not comparable to published FIDs.

``FrechetPixelDistance`` uses average-pooled pixels as features: cheap, needs no weights,
and falls as samples match the real images' low-frequency statistics (mean image,
per-region brightness correlations). It is blind to fine texture; use it to compare runs
of the same kit on the same data, not across papers.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ppgan_app.metrics.base import Metric, to_unit_numpy
from ppgan_app.registries import METRICS


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    """Symmetric square root of a positive semi-definite matrix (negative eigenvalues clipped)."""
    vals, vecs = np.linalg.eigh((matrix + matrix.T) / 2.0)
    return (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """Fréchet distance between N(mu1, cov1) and N(mu2, cov2).

    ``Tr((S_1 S_2)^(1/2))`` is computed as ``Tr((S_1^(1/2) S_2 S_1^(1/2))^(1/2))``, whose
    matrix is symmetric PSD, so no complex square roots arise.
    """
    root1 = _sqrt_psd(cov1)
    middle = root1 @ cov2 @ root1
    vals = np.clip(np.linalg.eigvalsh((middle + middle.T) / 2.0), 0.0, None)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * np.sqrt(vals).sum())


def frechet_distance_of_samples(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to feature sets ``[N, D]`` and ``[M, D]``.

    With fewer samples than dimensions (e.g. a few hundred Inception features of 2,048
    dimensions) the covariances have rank < D, and the same value comes exactly and far faster
    from the centred samples: ``Tr((S_a S_b)^(1/2))`` is the sum of the singular values of
    ``A B^T / sqrt((N-1)(M-1))`` (``A``, ``B`` centred), and ``Tr(S_a) = ||A||^2 / (N-1)``.
    """
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"need at least 2 samples per set, got {len(a)} and {len(b)}")
    if max(len(a), len(b)) >= a.shape[1]:
        return frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    mu_a, mu_b = a.mean(0), b.mean(0)
    ca, cb = (a - mu_a) / np.sqrt(len(a) - 1), (b - mu_b) / np.sqrt(len(b) - 1)
    cross = np.linalg.svd(ca @ cb.T, compute_uv=False).sum()
    diff = mu_a - mu_b
    return float(diff @ diff + (ca * ca).sum() + (cb * cb).sum() - 2.0 * cross)


class _GaussianStats:
    """Running sum and sum of outer products of ``[N, D]`` features."""

    def __init__(self) -> None:
        self.n, self.total, self.outer = 0, None, None

    def add(self, feats: np.ndarray) -> None:
        if self.total is None:
            self.total = np.zeros(feats.shape[1])
            self.outer = np.zeros((feats.shape[1], feats.shape[1]))
        self.n += len(feats)
        self.total += feats.sum(axis=0)
        self.outer += feats.T @ feats

    def mean_cov(self):
        if self.n < 2:
            raise ValueError(f"need at least 2 samples per set for a covariance, got {self.n}")
        mu = self.total / self.n
        cov = (self.outer - self.n * np.outer(mu, mu)) / (self.n - 1)
        return mu, cov


@METRICS.register
class FrechetPixelDistance(Metric):
    """Fréchet distance on ``pool_size x pool_size`` average-pooled pixels in [0, 1] (not FID).

    ``update(fakes, reals)``: two ``[N, C, H, W]`` batches in ``value_range`` (they need not be
    the same size). Features have ``C * pool_size**2`` dimensions.

    Args:
        value_range: ``"[-1,1]"`` or ``"[0,1]"``.
        pool_size: side of the pooled grid; H and W must be multiples of it, or it is
            reached by area resizing.
    """

    def __init__(self, value_range: str = "[-1,1]", pool_size: int = 7) -> None:
        self.value_range, self.pool_size = value_range, int(pool_size)
        self.fake: Optional[_GaussianStats] = None
        self.real: Optional[_GaussianStats] = None
        self.reset()

    def reset(self) -> None:
        self.fake, self.real = _GaussianStats(), _GaussianStats()

    def features(self, images: Any) -> np.ndarray:
        """``[N, C, H, W]`` -> ``[N, C * pool_size**2]`` average-pooled pixels in [0, 1]."""
        x = to_unit_numpy(images, self.value_range)
        n, c, h, w = x.shape
        p = self.pool_size
        if h % p or w % p:
            rows = np.array_split(np.arange(h), p)
            cols = np.array_split(np.arange(w), p)
            pooled = np.stack([np.stack([x[:, :, r][:, :, :, q].mean(axis=(2, 3)) for q in cols], -1)
                               for r in rows], -2)
        else:
            pooled = x.reshape(n, c, p, h // p, p, w // p).mean(axis=(3, 5))
        return pooled.reshape(n, -1)

    def update(self, preds: Any, gts: Any) -> None:
        self.fake.add(self.features(preds))
        self.real.add(self.features(gts))

    def accumulate(self) -> float:
        mu_f, cov_f = self.fake.mean_cov()
        mu_r, cov_r = self.real.mean_cov()
        return frechet_distance(mu_f, cov_f, mu_r, cov_r)
