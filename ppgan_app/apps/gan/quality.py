"""Quality figures of a GAN checkpoint, with the real-vs-real floor beside them.

    report = evaluate_checkpoint("run/iter_0004000_checkpoint.pdparams", "classifier.pdparams",
                                 data_root="../shared/data/fashion-mnist", num=5000)

Generated images (``num``; a conditional model's labels cycle through the classes) and ``num``
test images are compared in the classifier's feature space. The floor compares ``num`` train
images with the same ``num`` test images, after the same resolution round trip (real images
are resized to the generator's resolution first, then the classifier resizes both alike).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np

from ppgan_app.apps.gan.labelled_data import load_idx_arrays, resize_images
from ppgan_app.metrics.classifier_features import load_classifier, quality_figures
from ppgan_app.metrics.inception import inception_figures
from ppgan_app.models.classifier import predict

logger = logging.getLogger(__name__)


@dataclass
class QualityReport:
    """Figures of the generated set and of the real floor (keys as ``quality_figures``)."""

    generated: Dict[str, float]
    floor: Optional[Dict[str, float]]
    num: int
    size: int = 0                           # generator resolution (real images were resized to it)
    label_accuracy: Optional[float] = None  # conditional: share classified as their label


def real_floor(classifier_path: str | Path, data_root: str | Path, num: int, size: int,
               dataset: str = "fashion_mnist", seed: int = 0, inception: Any = None) -> Dict[str, float]:
    """The figures of ``num`` random train images against the first ``num`` test images
    (with ``inception``, a loaded ``FIDInceptionV3``: also their ``fid`` and ``is``)."""
    net, _ = load_classifier(classifier_path)
    train_x, _ = load_idx_arrays(data_root, "train", dataset)
    test_x, _ = load_idx_arrays(data_root, "test", dataset, max_samples=num)
    pick = np.random.default_rng(seed).choice(len(train_x), num, replace=False)
    train_imgs, test_imgs = resize_images(train_x[pick], size), resize_images(test_x, size)
    feats_a, probs_a = predict(net, train_imgs)
    feats_b, _ = predict(net, test_imgs)
    figures = quality_figures(feats_a, probs_a, feats_b, seed=seed)
    if inception is not None:
        figures.update(inception_figures(inception, train_imgs, test_imgs))
    return figures


def evaluate_checkpoint(checkpoint: str | Path, classifier_path: str | Path, data_root: str | Path,
                        num: int = 5000, dataset: str = "fashion_mnist", seed: int = 0,
                        truncation: Optional[float] = None, with_floor: bool = True,
                        use_ema: bool = True, inception: Any = None) -> QualityReport:
    """Figures of ``num`` images from ``checkpoint`` (EMA generator when it has one and ``use_ema``,
    else the raw G) and, with ``with_floor``, the real floor at the generator's resolution.
    With ``inception`` (a loaded ``FIDInceptionV3``) the figures include ``fid`` (and ``is``)."""
    from ppgan_app.apps.gan.sampler import generate_array, load_generator_model

    model = load_generator_model(checkpoint, use_ema=use_ema)
    labels = (np.arange(num) % model.n_class).astype(np.int64) if model.n_class else None
    fake = generate_array(model, num, seed=seed, labels=labels, truncation=truncation)
    size = fake.shape[-1]
    net, _ = load_classifier(classifier_path)
    test_x, _ = load_idx_arrays(data_root, "test", dataset, max_samples=num)
    fake_feats, fake_probs = predict(net, fake)
    real = resize_images(test_x, size)
    real_feats, _ = predict(net, real)
    generated = quality_figures(fake_feats, fake_probs, real_feats, seed=seed)
    if inception is not None:
        generated.update(inception_figures(inception, fake, real))
    floor = real_floor(classifier_path, data_root, num, size, dataset, seed, inception) if with_floor else None
    accuracy = float((fake_probs.argmax(1) == labels).mean()) if labels is not None else None
    return QualityReport(generated=generated, floor=floor, num=num, size=size, label_accuracy=accuracy)
