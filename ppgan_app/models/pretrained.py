"""Pretrained weights a model asks for, and leaves to its caller to load.

Models do no file I/O: a model that starts from published weights (the VGG19 of FOMM's
perceptual loss, a distillation teacher) lists them in ``pretrained_weights()``, and whoever
builds the model (the trainer, a test, a benchmark) fills them with
:func:`ppgan_app.weights.reader.load_pretrained`, which reads each file once and checks every
key and shape.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

import paddle


@dataclass(frozen=True)
class PretrainedWeights:
    """One network to fill from a weight file before training."""

    layer: paddle.nn.Layer     # the network filled (all of its state dict)
    source: str                # a ``resolve_weights`` name (e.g. ``vgg19``) or a file path
    what: str                  # names the weights in messages ("the distillation teacher")
    net: Optional[str] = None  # take this net's state dict from a checkpoint (``{"nets": ...}``
    #                            or ``{net: state_dict}``); None: the file is the state dict
    convert: Optional[Callable[[Mapping[str, Any]], Mapping[str, Any]]] = None
    #                            the file's keys -> the layer's (a pure function; keys it does
    #                            not map are left out and must not be needed)
