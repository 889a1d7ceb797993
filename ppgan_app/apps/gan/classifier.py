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
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np
import paddle
import paddle.nn.functional as F
from tqdm import tqdm

from ppgan_app.models.classifier import CHECKPOINT_KIND, FeatureClassifier, predict
from ppgan_app.utils.safe_files import atomic_output

logger = logging.getLogger(__name__)

AUGMENTATIONS = ("none", "flip_crop", "crop")  # "crop": shifts only (digits must not be mirrored)
SHIFT_FRACTION = 1 / 14  # augmentation shifts: up to this fraction of the side (2 pixels of 28, 1 of 8)


@dataclass
class FitOptions:
    """How ``fit_classifier`` trains (defaults: the metric classifier, a few CPU minutes)."""

    epochs: int = 2              # passes over the training images
    batch_size: int = 128        # images per step
    learning_rate: float = 1e-3  # Adam step size, cosine-decayed to 0
    augment: str = "none"        # "flip_crop": random horizontal flip + shifts; "crop": shifts only
    seed: int = 0                # initialisation, shuffling and augmentation
    min_steps: int = 0           # at least this many steps (small sets get more epochs)


def uint8_to_unit(images: np.ndarray) -> np.ndarray:
    """``[N, H, W]`` or ``[N, C, H, W]`` uint8 -> ``[N, C, H, W]`` float32 in [-1, 1]."""
    x = images.astype(np.float32) / 127.5 - 1.0
    return x[:, None] if x.ndim == 3 else x


def flip_crop(x: np.ndarray, rng: np.random.Generator, shift: int = 2, flip: bool = True) -> np.ndarray:
    """Random horizontal flip (when ``flip``) and random shift by up to ``shift`` pixels
    (the border is padded with -1, i.e. black)."""
    n, _, h, w = x.shape
    if flip:
        mirrored = rng.random(n) < 0.5
        x = np.where(mirrored[:, None, None, None], x[..., ::-1], x)
    padded = np.pad(x, ((0, 0), (0, 0), (shift, shift), (shift, shift)), constant_values=-1.0)
    dy, dx = rng.integers(0, 2 * shift + 1, n), rng.integers(0, 2 * shift + 1, n)
    return np.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])


def augment_batch(x: np.ndarray, augment: str, rng: np.random.Generator) -> np.ndarray:
    """``x`` ``[N, C, H, W]`` transformed by the named ordinary augmentation (``AUGMENTATIONS``)."""
    if augment == "none":
        return x
    shift = max(1, int(round(x.shape[-1] * SHIFT_FRACTION)))  # 2 pixels at 28x28, 1 at 8x8
    return flip_crop(x, rng, shift=shift, flip=augment == "flip_crop")


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
            x = augment_batch(images[idx], opts.augment, rng)
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


SCHEDULES = ("mixed", "real_tail", "pretrain")


@dataclass
class MixOptions:
    """How ``fit_mixed`` mixes generated images into the real ones."""

    share: float = 0.5          # fraction of each mixed batch that is generated, in [0, 1)
    schedule: str = "mixed"     # "mixed": every step; "real_tail": the last ``tail`` of the steps
                                # see real images only; "pretrain": steps on generated images only
                                # first, then the real steps with a fresh optimizer (fine-tuning)
    tail: float = 0.25          # real_tail: fraction of the steps at the end without generated images
    pretrain_epochs: float = 1.0  # pretrain: passes over the generated images before fine-tuning


Batch = Tuple[np.ndarray, np.ndarray, np.ndarray]  # images [B, C, H, W], labels [B], loss weights [B]


def fit_mixed(real_x: np.ndarray, real_y: np.ndarray, gen_x: np.ndarray, gen_y: np.ndarray,
              gen_w: Optional[np.ndarray], n_class: int, options: FitOptions, mix: MixOptions,
              **arch: Any) -> FeatureClassifier:
    """Train on real images plus generated ones, for as many passes over the real images as
    ``fit_classifier`` makes (``options.epochs``/``min_steps``), so arms differ only in what is added.

    Each real batch of ``options.batch_size`` images is joined by ``round(b * share / (1 - share))``
    generated images (drawn in shuffled passes over ``gen_x``); ``gen_w`` ``[M]`` in [0, 1] weights
    their loss terms (None: 1). ``options.augment`` applies to real and generated images alike.
    Images ``[N, C, H, W]`` in [-1, 1] of one size. Returns the net in eval mode.
    """
    if not 0.0 <= mix.share < 1.0 or mix.schedule not in SCHEDULES or not 0.0 <= mix.tail <= 1.0:
        raise ValueError(f"need share in [0, 1), tail in [0, 1] and schedule in {SCHEDULES}, got {mix}")
    opts = options
    paddle.seed(opts.seed)
    rng = np.random.default_rng(opts.seed)
    net = FeatureClassifier(input_nc=real_x.shape[1], n_class=n_class, **arch)
    gen_w = np.ones(len(gen_x), np.float32) if gen_w is None else gen_w.astype(np.float32)
    b = opts.batch_size
    g = int(round(b * mix.share / (1.0 - mix.share))) if len(gen_x) else 0
    per_epoch = max(1, int(np.ceil(len(real_x) / b)))
    steps = max(opts.epochs, int(np.ceil(opts.min_steps / per_epoch))) * per_epoch
    real = _Passes(len(real_x), rng)
    gen = _Passes(len(gen_x), rng) if g else None
    if mix.schedule == "pretrain" and gen is not None:
        pre_steps = max(1, int(np.ceil(mix.pretrain_epochs * len(gen_x) / (b + g))))
        _run_steps(net, pre_steps, opts.learning_rate,
                   lambda step: _take(gen_x, gen_y, gen_w, gen.next(b + g)), opts.augment, rng)
        gen = None
    mixed_steps = steps if mix.schedule != "real_tail" else int(round(steps * (1.0 - mix.tail)))
    ones = np.ones(len(real_x), np.float32)

    def batch(step: int) -> Batch:
        x, y, w = _take(real_x, real_y, ones, real.next(b))
        if gen is None or step >= mixed_steps:
            return x, y, w
        gx, gy, gw = _take(gen_x, gen_y, gen_w, gen.next(g))
        return np.concatenate([x, gx]), np.concatenate([y, gy]), np.concatenate([w, gw])

    _run_steps(net, steps, opts.learning_rate, batch, opts.augment, rng)
    net.eval()
    return net


class _Passes:
    """Indices of ``n`` items in shuffled passes: each item once per pass."""

    def __init__(self, n: int, rng: np.random.Generator) -> None:
        self.n, self.rng, self.order, self.pos = n, rng, np.empty(0, np.int64), 0

    def next(self, k: int) -> np.ndarray:
        """The next ``min(k, n)`` indices (a batch never straddles two passes)."""
        if self.pos >= len(self.order):
            self.order, self.pos = self.rng.permutation(self.n), 0
        idx = self.order[self.pos:self.pos + k]
        self.pos += len(idx)
        return idx


def _take(x: np.ndarray, y: np.ndarray, w: np.ndarray, idx: np.ndarray) -> Batch:
    return x[idx], y[idx], w[idx]


def _run_steps(net: FeatureClassifier, steps: int, learning_rate: float, batch: Callable[[int], Batch],
               augment: str, rng: np.random.Generator) -> None:
    """``steps`` Adam steps (cosine-decayed rate) on the weighted cross-entropy of ``batch(step)``."""
    schedule = paddle.optimizer.lr.CosineAnnealingDecay(learning_rate, T_max=steps)
    optimizer = paddle.optimizer.Adam(learning_rate=schedule, parameters=net.parameters())
    net.train()
    for step in range(steps):
        x, y, w = batch(step)
        x = augment_batch(x, augment, rng)
        losses = F.cross_entropy(net(paddle.to_tensor(np.ascontiguousarray(x))),
                                 paddle.to_tensor(y.astype(np.int64)), reduction="none").reshape([-1])
        weights = paddle.to_tensor(w)
        loss = (losses * weights).sum() / weights.sum().clip(min=1e-6)
        optimizer.clear_grad()
        loss.backward()
        optimizer.step()
        schedule.step()


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
