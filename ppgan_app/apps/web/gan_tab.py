"""The GAN tab (``ppgan-app --gan_checkpoint F``): sample grids, a row per class named by the
data set's class names, and latent interpolations, with seed and truncation.

The checkpoint is loaded once at start (a bad one stops the server with the CLI's one line).
Values are checked as ``tools/generate.py`` checks its flags; NaN, infinities and numbers out of
range are one-line errors, whether they come from the page or from the API.
"""
from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from ppgan_app.errors import InputError

#: Largest requests: images per class row (or in an unconditional grid), walks and steps.
MAX_PER_ROW = 16
MAX_GRID_IMAGES = 256
MAX_ROWS = 16
MAX_STEPS = 16
#: Shown images are enlarged by this factor (nearest neighbour: the pixels stay visible).
ZOOM = 3
EVERY_CLASS = "every class"


def whole_number(name: str, value: Any, low: int, high: int) -> int:
    """``value`` as an int in ``low..high`` (Gradio numbers arrive as floats).

    Raises:
        InputError: not a finite whole number in range (NaN, Infinity, 1e400, 2.5, text...).
    """
    if value is None or value == "":
        raise InputError(f"{name} is empty; enter a whole number")
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value != int(value):
        raise InputError(f"{name} must be a whole number, got {value!r}")
    if not low <= int(value) <= high:
        raise InputError(f"{name} must be in {low}..{high}, got {int(value)}")
    return int(value)


def truncation_value(value: Any) -> Optional[float]:
    """A positive finite truncation, or ``None`` (0 or empty: no truncation)."""
    if value is None or value == "" or value == 0:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value <= 0:
        raise InputError(f"truncation must be a positive number (e.g. 1.0; 0: none), "
                         f"got {value!r}")
    return float(value)


def dataset_class_names(config: Any, n_class: int) -> List[str]:
    """Class names of the data set a checkpoint's config trained on (``class_names`` of its
    dataset class: Fashion-MNIST's "T-shirt/top", ...), else ``"0"``, ``"1"``, ..."""
    from ppgan_app.registries import DATASETS

    name = (((config or {}).get("dataset") or {}).get("train") or {}).get("name")
    names: Sequence[str] = ()
    if isinstance(name, str) and name in DATASETS:
        names = getattr(DATASETS.get(name), "class_names", ()) or ()
    if len(names) != n_class or not all(isinstance(n, str) for n in names):
        return [str(i) for i in range(n_class)]
    return list(names)


def labelled_rows(rows: Sequence[np.ndarray], names: Sequence[str]) -> np.ndarray:
    """Stack image strips ``[h,w(,3)] uint8`` into one ``[H,W,3]`` image, each strip's name
    written in a margin at its left."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=20)
    margin = 12 + max(int(font.getlength(n)) for n in names)
    height, width = sum(r.shape[0] for r in rows), margin + max(r.shape[1] for r in rows)
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    top = 0
    for strip, name in zip(rows, names):
        canvas.paste(Image.fromarray(strip).convert("RGB"), (margin, top))
        draw.text((6, top + strip.shape[0] // 2), name, fill=(0, 0, 0), font=font, anchor="lm")
        top += strip.shape[0]
    return np.asarray(canvas)


def _zoom(image: np.ndarray) -> np.ndarray:
    image = np.repeat(np.repeat(image, ZOOM, axis=0), ZOOM, axis=1)
    return image[..., 0] if image.shape[-1] == 1 else image


class GanService:
    """A GAN generator behind the tab.

    Raises:
        CheckpointError: the checkpoint is missing, unreadable or not a GAN's.
    """

    def __init__(self, checkpoint: str | Path) -> None:
        import ppgan_app.datasets  # noqa: F401 - registers the data sets (class names)
        from ppgan_app.apps.gan.sampler import load_generator_model
        from ppgan_app.engine.checkpoint import load_checkpoint

        self.checkpoint = Path(checkpoint)
        self.model = load_generator_model(checkpoint)
        self.n_class = int(self.model.n_class or 0)
        self.class_names = dataset_class_names(load_checkpoint(checkpoint).get("config"),
                                               self.n_class)
        self._lock = threading.Lock()  # the model is shared between requests

    def _class_id(self, choice: Optional[str]) -> Optional[int]:
        if not choice or choice == EVERY_CLASS:
            return None
        if not self.n_class:
            raise InputError("a class was chosen but the checkpoint's model is unconditional")
        if choice not in self.class_names:
            raise InputError(f"class {choice!r} is not one of: {', '.join(self.class_names)}")
        return self.class_names.index(choice)

    def grid(self, per_row: Any, seed: Any, truncation: Any, choice: Optional[str] = None
             ) -> Tuple[np.ndarray, str]:
        """A sample grid ``[H,W(,3)] uint8`` and its caption: for a conditional model a row
        per class, its name written at its left; for an unconditional one a square grid.

        Raises:
            InputError: a value out of range or not a number.
        """
        from ppgan_app.apps.gan.sampler import grid_array
        from ppgan_app.utils.visual import make_grid

        high = MAX_PER_ROW if self.n_class else MAX_GRID_IMAGES
        num = whole_number("images per row" if self.n_class else "images", per_row, 1, high)
        seed = whole_number("seed", seed, 0, 2**32 - 1)
        trunc = truncation_value(truncation)
        class_id = self._class_id(choice)
        labels = None if class_id is None else [class_id]
        with self._lock:
            images, count = grid_array(self.model, num, seed, labels, trunc)
        if not self.n_class:
            return _zoom(make_grid(images)), f"{num} samples, seed {seed}"
        ids = labels or list(range(self.n_class))
        names = [self.class_names[y] for y in ids]
        rows = [_zoom(make_grid(images[i * count:(i + 1) * count], nrow=count))
                for i in range(len(ids))]
        return labelled_rows(rows, names), f"Rows, top to bottom: {', '.join(names)} (seed {seed})"

    def interpolation(self, rows: Any, steps: Any, seed: Any, truncation: Any,
                      choice: Optional[str] = None) -> np.ndarray:
        """A latent interpolation strip ``[H,W(,3)] uint8``: a row per walk.

        Raises:
            InputError: a value out of range or not a number.
        """
        from ppgan_app.apps.gan.sampler import interpolation_array
        from ppgan_app.utils.visual import make_grid

        rows = whole_number("walks", rows, 1, MAX_ROWS)
        steps = whole_number("steps", steps, 2, MAX_STEPS)
        seed = whole_number("seed", seed, 0, 2**32 - 1)
        trunc = truncation_value(truncation)
        class_id = self._class_id(choice)
        with self._lock:
            images = interpolation_array(self.model, rows, steps, seed, class_id, trunc)
        return _zoom(make_grid(images, nrow=steps))


def _one_line_errors(fn: Any) -> Any:
    """``fn`` with :class:`InputError` shown as Gradio's one-line error."""
    import functools

    import gradio as gr

    @functools.wraps(fn)
    def wrapped(*args: Any) -> Any:
        try:
            return fn(*args)
        except InputError as err:
            raise gr.Error(f"error: {' '.join(str(err).split())}", print_exception=False) \
                from None
    return wrapped


def build_gan_tab(service: GanService) -> None:
    """The tab's layout and its two endpoints, ``/gan_grid`` and ``/gan_interpolate``."""
    import gradio as gr

    kind = (f"conditional, {service.n_class} classes" if service.n_class else "unconditional")
    gr.Markdown(f"**{service.checkpoint.name}**: {type(service.model).__name__} ({kind}), "
                f"latent size {int(service.model.nz)}.")
    choices = [EVERY_CLASS, *service.class_names] if service.n_class else [EVERY_CLASS]
    with gr.Row():
        seed = gr.Number(value=0, label="Seed", info="same seed, same images", elem_id="gan-seed")
        truncation = gr.Number(value=0, label="Truncation",
                               info="resample latents beyond this many standard deviations "
                                    "(0: none; 0.5-1 gives cleaner, less varied images)",
                               elem_id="gan-truncation")
        choice = gr.Dropdown(choices, value=EVERY_CLASS, label="Class",
                             interactive=bool(service.n_class), elem_id="gan-class",
                             info="the data set's classes" if service.n_class
                             else "the model is unconditional")
    with gr.Row():
        with gr.Column(min_width=280):
            per_row = gr.Number(value=8, label="Images per class row" if service.n_class
                                else "Images", elem_id="gan-num")
            grid_button = gr.Button("Sample grid", variant="primary", elem_id="gan-grid-run")
            grid = gr.Image(label="Samples", type="numpy", interactive=False,
                            elem_id="gan-grid", format="png")
            caption = gr.Markdown(elem_id="gan-grid-caption")
        with gr.Column(min_width=280):
            with gr.Row():
                rows = gr.Number(value=4, label="Walks", elem_id="gan-rows")
                steps = gr.Number(value=8, label="Steps", elem_id="gan-steps")
            walk_button = gr.Button("Interpolate", variant="primary", elem_id="gan-walk-run")
            strip = gr.Image(label="Latent interpolation (a row per walk)", type="numpy",
                             interactive=False, elem_id="gan-strip")
    grid_button.click(_one_line_errors(service.grid), [per_row, seed, truncation, choice],
                      [grid, caption], api_name="gan_grid", concurrency_id="gan")
    walk_button.click(_one_line_errors(service.interpolation),
                      [rows, steps, seed, truncation, choice], strip, api_name="gan_interpolate",
                      concurrency_id="gan")
