"""Train and save the small feature classifier (``models.classifier``).

Used twice: its checkpoint defines the feature space of the GAN quality metrics
(``metrics.classifier_features.load_classifier`` reads it back), and ``fit_classifier`` is the
classifier of the labelled augmentation experiment. Images here are numpy ``[N, C, H, W]`` float32 in [-1, 1] and labels
``[N]`` int64; all randomness comes from the ``seed`` argument.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np
import paddle
import paddle.nn.functional as F
from tqdm import tqdm

from ppgan_app.models.classifier import CHECKPOINT_KIND, FeatureClassifier, predict
from ppgan_app.utils.safe_files import atomic_output

logger = logging.getLogger(__name__)

AUGMENTATIONS = ("none", "flip_crop")


@dataclass
class FitOptions:
    """How ``fit_classifier`` trains (defaults: the metric classifier, a few CPU minutes)."""

    epochs: int = 2              # passes over the training images
    batch_size: int = 128        # images per step
    learning_rate: float = 1e-3  # Adam step size, cosine-decayed to 0
    augment: str = "none"        # "flip_crop": random horizontal flip + 2-pixel shifts
    seed: int = 0                # initialisation, shuffling and augmentation
    min_steps: int = 0           # at least this many steps (small sets get more epochs)


def uint8_to_unit(images: np.ndarray) -> np.ndarray:
    """``[N, H, W]`` or ``[N, C, H, W]`` uint8 -> ``[N, C, H, W]`` float32 in [-1, 1]."""
    x = images.astype(np.float32) / 127.5 - 1.0
    return x[:, None] if x.ndim == 3 else x


def flip_crop(x: np.ndarray, rng: np.random.Generator, shift: int = 2) -> np.ndarray:
    """Random horizontal flip and random shift by up to ``shift`` pixels (zero = -1 padding)."""
    n, _, h, w = x.shape
    flip = rng.random(n) < 0.5
    x = np.where(flip[:, None, None, None], x[..., ::-1], x)
    padded = np.pad(x, ((0, 0), (0, 0), (shift, shift), (shift, shift)), constant_values=-1.0)
    dy, dx = rng.integers(0, 2 * shift + 1, n), rng.integers(0, 2 * shift + 1, n)
    return np.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])


def fit_classifier(images: np.ndarray, labels: np.ndarray, n_class: int,
                   options: Optional[FitOptions] = None, **arch: Any) -> FeatureClassifier:
    """Train a ``FeatureClassifier`` on ``images`` ``[N, C, H, W]`` in [-1, 1] and ``labels`` ``[N]``.

    Returns the net in eval mode.
    """
    opts = options or FitOptions()
    if opts.augment not in AUGMENTATIONS:
        raise ValueError(f"augment must be one of {AUGMENTATIONS}, got {opts.augment!r}")
    paddle.seed(opts.seed)
    rng = np.random.default_rng(opts.seed)
    net = FeatureClassifier(input_nc=images.shape[1], n_class=n_class, **arch)
    per_epoch = max(1, int(np.ceil(len(images) / opts.batch_size)))
    epochs = max(opts.epochs, int(np.ceil(opts.min_steps / per_epoch)))
    schedule = paddle.optimizer.lr.CosineAnnealingDecay(opts.learning_rate, T_max=epochs * per_epoch)
    optimizer = paddle.optimizer.Adam(learning_rate=schedule, parameters=net.parameters())
    net.train()
    start = time.time()
    bar = tqdm(total=epochs * per_epoch, desc="training the classifier", unit="step", leave=False,
               dynamic_ncols=True)
    for epoch in range(epochs):
        order = rng.permutation(len(images))
        for i in range(per_epoch):
            idx = order[i * opts.batch_size:(i + 1) * opts.batch_size]
            x = images[idx] if opts.augment == "none" else flip_crop(images[idx], rng)
            loss = F.cross_entropy(net(paddle.to_tensor(np.ascontiguousarray(x))),
                                   paddle.to_tensor(labels[idx].astype(np.int64)))
            optimizer.clear_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            bar.update(1)
        bar.set_postfix(epoch=f"{epoch + 1}/{epochs}", loss=f"{float(loss):.3f}")
        logger.debug("classifier epoch %d/%d: loss %.4f (%.0f s)", epoch + 1, epochs, float(loss),
                     time.time() - start)
    bar.close()
    net.eval()
    return net


def accuracy(net: FeatureClassifier, images: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of ``images`` whose most probable class is ``labels``."""
    _, probs = predict(net, images)
    return float((probs.argmax(axis=1) == labels).mean())


def save_classifier(net: FeatureClassifier, path: str | Path, meta: Dict[str, Any]) -> Path:
    """Write the weights, architecture and ``meta`` (data set, accuracy) atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        paddle.save({"kind": CHECKPOINT_KIND, "arch": net.arch(), "net": net.state_dict(),
                     "meta": dict(meta)}, str(tmp))
    return path
