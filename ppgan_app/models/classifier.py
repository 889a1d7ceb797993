"""A small image classifier whose penultimate layer is the feature space of the quality metrics.

TF-GAN's answer to "no Inception weights for MNIST": train a small classifier on the data set
itself and measure generated images in its feature space. Images ``[N, C, H, W]`` in [-1, 1]
of any size are resized (bilinear) to the classifier's ``img_size`` first, so a 32x32
generator is measured at the classifier's 28x28.
"""
from __future__ import annotations

from typing import Any, Dict, Tuple

import numpy as np
import paddle
import paddle.nn.functional as F
from paddle import nn


CHECKPOINT_KIND = "ppgan_app.feature_classifier"  # the "kind" entry of a classifier checkpoint


class FeatureClassifier(nn.Layer):
    """Two conv blocks and a hidden dense layer: ``[N, C, H, W]`` -> logits ``[N, n_class]``.

    Args:
        input_nc: image channels.
        n_class: number of classes.
        img_size: side the input is resized to (28 for (Fashion-)MNIST); a multiple of 4.
        width: channels of the first block (the second has twice as many).
        feature_dim: size of the penultimate (feature) layer.
    """

    def __init__(self, input_nc: int = 1, n_class: int = 10, img_size: int = 28, width: int = 16,
                 feature_dim: int = 128) -> None:
        super().__init__()
        if img_size % 4:
            raise ValueError(f"img_size must be a multiple of 4, got {img_size}")
        self.input_nc, self.n_class, self.img_size = input_nc, n_class, img_size
        self.width, self.feature_dim = width, feature_dim

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2D(cin, cout, 3, padding=1), nn.BatchNorm2D(cout), nn.ReLU(),
                                 nn.Conv2D(cout, cout, 3, padding=1), nn.BatchNorm2D(cout), nn.ReLU(),
                                 nn.MaxPool2D(2))

        self.body = nn.Sequential(block(input_nc, width), block(width, 2 * width))
        self.fc = nn.Linear(2 * width * (img_size // 4) ** 2, feature_dim)
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(feature_dim, n_class)

    def arch(self) -> Dict[str, Any]:
        """The constructor arguments (stored in the classifier checkpoint)."""
        return {"input_nc": self.input_nc, "n_class": self.n_class, "img_size": self.img_size,
                "width": self.width, "feature_dim": self.feature_dim}

    def _resize(self, x: paddle.Tensor) -> paddle.Tensor:
        if x.shape[1] != self.input_nc:
            raise ValueError(f"classifier takes {self.input_nc}-channel images, got shape {x.shape}")
        if x.shape[2] == self.img_size and x.shape[3] == self.img_size:
            return x
        return F.interpolate(x, size=[self.img_size, self.img_size], mode="bilinear", align_corners=False)

    def features(self, x: paddle.Tensor) -> paddle.Tensor:
        """``[N, C, H, W]`` in [-1, 1] -> penultimate activations ``[N, feature_dim]`` (>= 0)."""
        h = self.body(self._resize(x)).flatten(1)
        return F.relu(self.fc(h))

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        """``[N, C, H, W]`` in [-1, 1] -> logits ``[N, n_class]``."""
        return self.head(self.dropout(self.features(x)))


def predict(net: FeatureClassifier, images: np.ndarray, batch_size: int = 500) -> Tuple[np.ndarray, np.ndarray]:
    """Features ``[N, feature_dim]`` float64 and class probabilities ``[N, n_class]`` of ``images``
    (numpy ``[N, C, H, W]`` in [-1, 1]); the net is put in eval mode."""
    net.eval()
    feats, probs = [], []
    with paddle.no_grad():
        for start in range(0, len(images), batch_size):
            x = paddle.to_tensor(np.ascontiguousarray(images[start:start + batch_size], dtype=np.float32))
            f = net.features(x)
            feats.append(f.numpy().astype(np.float64))
            probs.append(F.softmax(net.head(f), axis=1).numpy().astype(np.float64))
    return np.concatenate(feats), np.concatenate(probs)
