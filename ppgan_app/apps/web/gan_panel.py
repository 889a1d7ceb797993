"""The web app's GAN tab: sample grids and latent interpolations from a GAN checkpoint.

The checkpoint is loaded once, when the server starts (``ppgan-app --gan_checkpoint F``), so a
bad file stops the server with the CLI's one-line error instead of failing each request. Every
request's values are checked as ``tools/generate.py`` checks its flags; images are made in
memory and sent as PNG (nothing is written to disk).
"""
from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

from ppgan_app.errors import InputError

#: Largest requests the page may make: the images of one grid, rows and steps of a strip.
MAX_GRID_IMAGES = 256
MAX_ROWS = 16
MAX_STEPS = 16


def _int_value(values: Mapping[str, Any], name: str, default: Optional[int], low: int,
               high: int) -> Optional[int]:
    """``values[name]`` as an int in ``low..high``; ``default`` when absent or null."""
    value = values.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise InputError(f"{name} must be a whole number, got {value!r}")
    if not low <= int(value) <= high:
        raise InputError(f"{name} must be in {low}..{high}, got {int(value)}")
    return int(value)


def _truncation(values: Mapping[str, Any]) -> Optional[float]:
    """``values["truncation"]``: a positive number, or None (no truncation)."""
    value = values.get("truncation")
    if value is None or value == "":
        return None
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not math.isfinite(value) or value <= 0):
        raise InputError(f"truncation must be a positive number (e.g. 1.0), got {value!r}")
    return float(value)


class GanPanel:
    """A GAN generator behind the page's GAN tab.

    Args:
        checkpoint: a trainer checkpoint of a GAN model (its config rebuilds the generator;
            the EMA generator is used when the model keeps one).

    Raises:
        CheckpointError: the checkpoint is missing, unreadable or not a GAN's.
    """

    def __init__(self, checkpoint: str | Path) -> None:
        from ppgan_app.apps.gan.sampler import load_generator_model

        self.checkpoint = Path(checkpoint)
        self.model = load_generator_model(checkpoint)
        self._lock = threading.Lock()  # one generation at a time: the model is shared

    def info(self) -> Dict[str, Any]:
        """What the page needs: the checkpoint's name, latent size, classes and limits."""
        return {"available": True, "checkpoint": self.checkpoint.name,
                "model": type(self.model).__name__, "nz": int(self.model.nz),
                "n_class": int(self.model.n_class or 0), "max_grid_images": MAX_GRID_IMAGES,
                "max_rows": MAX_ROWS, "max_steps": MAX_STEPS}

    def _labels(self, values: Mapping[str, Any]) -> Optional[list]:
        n_class = int(self.model.n_class or 0)
        label = _int_value(values, "label", None, -(2**31), 2**31)
        if label is None:
            return None
        if not n_class:
            raise InputError("label was given but the checkpoint's model is unconditional")
        if not 0 <= label < n_class:
            raise InputError(f"label {label} is out of range: the model has classes "
                             f"0..{n_class - 1}")
        return [label]

    def grid_png(self, values: Mapping[str, Any]) -> bytes:
        """A sample grid as PNG bytes.

        ``values``: ``num`` (images; per class for a conditional model), ``seed``,
        ``truncation``, ``label`` (one class only; default every class).

        Raises:
            InputError: a value out of range or of the wrong kind.
        """
        from ppgan_app.apps.gan.sampler import check_sampling, encode_image, grid_array
        from ppgan_app.utils.visual import make_grid

        classes = max(int(self.model.n_class or 0), 1)
        num = _int_value(values, "num", None, 1, MAX_GRID_IMAGES // classes)
        seed = _int_value(values, "seed", 0, 0, 2**32 - 1)
        truncation = _truncation(values)
        check_sampling(num or 1, 1, seed, truncation)
        labels = self._labels(values)
        with self._lock:
            images, nrow = grid_array(self.model, num, seed, labels, truncation)
        return encode_image(make_grid(images, nrow=nrow))

    def interpolation_png(self, values: Mapping[str, Any]) -> bytes:
        """A latent interpolation strip (a row per walk) as PNG bytes.

        ``values``: ``rows``, ``steps``, ``seed``, ``truncation``, ``label``.

        Raises:
            InputError: a value out of range or of the wrong kind.
        """
        from ppgan_app.apps.gan.sampler import check_sampling, encode_image, interpolation_array
        from ppgan_app.utils.visual import make_grid

        rows = _int_value(values, "rows", 4, 1, MAX_ROWS)
        steps = _int_value(values, "steps", 8, 2, MAX_STEPS)
        seed = _int_value(values, "seed", 0, 0, 2**32 - 1)
        truncation = _truncation(values)
        check_sampling(1, 1, seed, truncation)
        labels = self._labels(values)
        label = labels[0] if labels else None
        with self._lock:
            images = interpolation_array(self.model, rows, steps, seed, label, truncation)
        return encode_image(make_grid(images, nrow=steps))
