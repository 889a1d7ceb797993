"""Class conditioning shared by the conditional generators and discriminators.

Labels ``class_id`` are ``[N]`` int64 tensors in ``[0, n_class)``; they enter a network as
one-hot vectors concatenated to its input (Mirza & Osindero's conditional GAN).
"""
from __future__ import annotations

from typing import Any, Optional, Type

import paddle
import paddle.nn.functional as F

from ppgan_app.utils.registry import Registry


def check_labels(class_id: Optional[paddle.Tensor], n_class: int, batch: int) -> None:
    """Raise a clear error when a conditional net gets no labels or an unconditional one gets some."""
    if n_class > 0 and class_id is None:
        raise ValueError(f"this network is conditional on {n_class} classes: pass class_id [N] int64")
    if n_class == 0 and class_id is not None:
        raise ValueError("this network is unconditional (n_class=0) but got class_id")
    if class_id is not None and tuple(class_id.shape) != (batch,):
        raise ValueError(f"class_id must have shape [{batch}], got {list(class_id.shape)}")


def concat_one_hot(features: paddle.Tensor, class_id: Optional[paddle.Tensor], n_class: int) -> paddle.Tensor:
    """``[N, D]`` -> ``[N, D + n_class]`` with the labels' one-hot codes; unchanged when n_class is 0."""
    check_labels(class_id, n_class, features.shape[0])
    if n_class == 0:
        return features
    code = F.one_hot(class_id.reshape([-1]).astype("int64"), n_class).astype(features.dtype)
    return paddle.concat([features, code], axis=1)


def concat_one_hot_maps(images: paddle.Tensor, class_id: Optional[paddle.Tensor], n_class: int) -> paddle.Tensor:
    """``[N, C, H, W]`` -> ``[N, C + n_class, H, W]`` with constant one-hot label planes."""
    check_labels(class_id, n_class, images.shape[0])
    if n_class == 0:
        return images
    n, _, h, w = images.shape
    code = F.one_hot(class_id.reshape([-1]).astype("int64"), n_class).astype(images.dtype)
    planes = code.reshape([n, n_class, 1, 1]).expand([n, n_class, h, w])
    return paddle.concat([images, planes], axis=1)


def conditional_variant(base: Type[paddle.nn.Layer], registry: Registry,
                        default_classes: int = 10) -> Type[paddle.nn.Layer]:
    """Register and return ``Conditional<base>``: ``base`` with ``n_class`` required to be > 0.

    ``base`` takes an ``n_class`` argument (0 = unconditional); the variant defaults it to
    ``default_classes`` and refuses 0, so a config that names it always conditions on labels.
    """
    name = f"Conditional{base.__name__}"

    def __init__(self: Any, n_class: int = default_classes, **kwargs: Any) -> None:
        if n_class <= 0:
            raise ValueError(f"{name} needs n_class > 0, got {n_class}")
        base.__init__(self, n_class=n_class, **kwargs)

    doc = f"``{base.__name__}`` that requires ``n_class`` > 0 and labels at every call."
    variant = type(name, (base,), {"__init__": __init__, "__doc__": doc,
                                   "__module__": base.__module__})
    return registry.register(variant)
