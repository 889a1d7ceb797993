"""Weight initialisation in PaddleGAN's style (``init_weights(net, init_type, init_gain)``).

Conv and Linear weights get ``normal`` N(0, gain), ``xavier`` (Glorot normal times gain),
``kaiming`` (He normal, fan-in, times gain) or ``orthogonal`` (times gain); their biases get 0.
Batch-norm scales get N(1, 0.02) and shifts 0, as in the DCGAN paper. ``dcgan`` is
``normal`` with gain 0.02. Random numbers come from Paddle's global generator, so the
engine's seed makes initialisation reproducible.
"""
from __future__ import annotations

import logging
import math
from typing import Tuple

import numpy as np
import paddle
from paddle import nn

logger = logging.getLogger(__name__)

INIT_TYPES = ("normal", "xavier", "kaiming", "orthogonal", "dcgan")
_WEIGHTED = (nn.Conv1D, nn.Conv2D, nn.Conv2DTranspose, nn.Linear)
_NORMS = (nn.BatchNorm1D, nn.BatchNorm2D, nn.BatchNorm)


def _fans(layer: nn.Layer, shape: Tuple[int, ...]) -> Tuple[int, int]:
    """(fan_in, fan_out) of a weight of ``shape``.

    Paddle stores Linear weights as ``[in, out]``, Conv weights as ``[out, in, *k]`` and
    transposed-conv weights as ``[in, out, *k]``.
    """
    if isinstance(layer, nn.Linear):
        return shape[0], shape[1]
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    if isinstance(layer, nn.Conv2DTranspose):
        return shape[0] * receptive, shape[1] * receptive
    return shape[1] * receptive, shape[0] * receptive


def _orthogonal(shape: Tuple[int, ...], gain: float) -> paddle.Tensor:
    rows = shape[0]
    cols = int(np.prod(shape[1:]))
    flat = paddle.normal(0.0, 1.0, [max(rows, cols), min(rows, cols)])
    q, r = paddle.linalg.qr(flat)
    q = q * paddle.sign(paddle.diag(r)).unsqueeze(0)
    if rows < cols:
        q = q.t()
    return (gain * q).reshape(list(shape))


def _new_weight(layer: nn.Layer, shape: Tuple[int, ...], init_type: str, gain: float) -> paddle.Tensor:
    fan_in, fan_out = _fans(layer, shape)
    if init_type in ("normal", "dcgan"):
        std = gain
    elif init_type == "xavier":
        std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    elif init_type == "kaiming":
        std = gain * math.sqrt(2.0 / float(fan_in))
    else:
        return _orthogonal(shape, gain)
    return paddle.normal(0.0, std, list(shape))


def _weight_param(layer: nn.Layer):
    """The trainable weight: ``weight_orig`` under spectral norm, else ``weight``."""
    return layer.weight_orig if hasattr(layer, "weight_orig") else layer.weight


def init_weights(net: nn.Layer, init_type: str = "normal", init_gain: float = 0.02) -> nn.Layer:
    """Re-initialise every Conv/Linear/BatchNorm sub-layer of ``net`` in place; returns ``net``.

    Args:
        net: any layer.
        init_type: one of ``normal``, ``xavier``, ``kaiming``, ``orthogonal``, ``dcgan``.
        init_gain: std for ``normal``; a multiplier for ``xavier``/``kaiming``/``orthogonal``
            (``dcgan`` forces 0.02).
    """
    if init_type not in INIT_TYPES:
        raise ValueError(f"unknown init_type {init_type!r}; choose one of {INIT_TYPES}")
    gain = 0.02 if init_type == "dcgan" else float(init_gain)
    with paddle.no_grad():
        for layer in net.sublayers(include_self=True):
            if isinstance(layer, _WEIGHTED):
                weight = _weight_param(layer)
                weight.set_value(_new_weight(layer, tuple(weight.shape), init_type, gain))
                if getattr(layer, "bias", None) is not None:
                    layer.bias.set_value(paddle.zeros_like(layer.bias))
            elif isinstance(layer, _NORMS) and layer.weight is not None:
                layer.weight.set_value(paddle.normal(1.0, 0.02, list(layer.weight.shape)))
                layer.bias.set_value(paddle.zeros_like(layer.bias))
    logger.debug("initialised %s with %s (gain %.3g)", type(net).__name__, init_type, gain)
    return net
