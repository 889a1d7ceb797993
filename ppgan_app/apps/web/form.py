"""The Animate tab's option widgets, built from the fields of ``TransferOptions``.

Each widget's default, help (shown under it, Gradio's ``info``), choices and check come from the
option's field; this module only adds what a page needs beyond a command line: a label, a group
(basic or advanced) and whether the option can be used on this machine (an option whose weights
are missing is shown greyed out with the reason, not offered and then failed).
"""
from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
from typing import Any, Dict, List, Mapping, Optional

from ppgan_app.apps.expression_transfer.options import (TransferOptions, choices_of,
                                                        option_fields, value_kind)

#: Options shown open, in this order.
BASIC = ("relative", "adapt_scale", "face_detector", "audio", "no_face_ok")
#: Options in the folded "Advanced" group, in this order.
ADVANCED = ("ratio", "multi_person", "crop_driving", "smooth", "find_best_frame", "best_frame",
            "face_enhancement", "super_resolution", "batch_size", "slice_size")
#: Every option a job (page or API) may set; the model options are the server's.
JOB_OPTIONS = BASIC + ADVANCED
#: Page labels where the field name does not read well as one.
LABELS = {"relative": "Relative motion", "adapt_scale": "Adapt scale",
          "no_face_ok": "Animate without a face", "audio": "Keep the sound",
          "ratio": "Face region size", "multi_person": "Every face",
          "crop_driving": "Crop the driving video", "smooth": "Smooth keypoints",
          "find_best_frame": "Find the best start frame", "best_frame": "Start frame",
          "face_enhancement": "Face enhancement (GPEN)",
          "super_resolution": "Super-resolution of the faces", "batch_size": "Frames per call",
          "slice_size": "Frames held in memory", "face_detector": "Face detector"}
#: Weight files (names of ``ppgan_app.utils.download.WEIGHT_URLS``) each choice needs.
_DETECTOR_WEIGHTS = {"sfd": ("s3fd",), "blazeface": ("blazeface", "blazeface-anchors")}
#: The choice shown for ``None`` in a dropdown whose option is off by default.
OFF = ("off", "")


def label(name: str) -> str:
    """The page's label of option ``name``."""
    return LABELS.get(name, name.replace("_", " ").capitalize())


def _field(name: str) -> dataclasses.Field:
    return TransferOptions.__dataclass_fields__[name]


def _missing_weights(names: tuple, section: str = "Faces") -> Optional[str]:
    """Why weights ``names`` cannot be used offline (not in the cache), or ``None``; the
    README's ``section`` says where to get them."""
    from ppgan_app.utils.download import cached_path

    missing = [cached_path(n) for n in names if not cached_path(n).is_file()]
    if not missing:
        return None
    return (f"needs {', '.join(p.name for p in missing)} in {missing[0].parent} (not "
            f"downloaded yet; the README's {section} section says where to get it)")


def _super_resolution_missing(weights: Optional[str]) -> Optional[str]:
    """Why ``--super_resolution`` cannot run with the server's ``weights`` (``None``: the
    default network's published weights), or ``None``."""
    from ppgan_app.apps.super_resolution.faces import DEFAULT_FACE_SR_MODEL
    from ppgan_app.apps.super_resolution.networks import PRESETS

    name = weights or DEFAULT_FACE_SR_MODEL
    if name in PRESETS:
        reason = _missing_weights((PRESETS[name]["weights"],), "Super-resolution")
        return f"unavailable: {name} {reason}" if reason else None
    if not os.path.isfile(os.path.expanduser(name)):
        return f"unavailable: the server's --super_resolution_weights {name} is not a file"
    return None


def unavailable_options(defaults: Optional[TransferOptions] = None) -> Dict[str, str]:
    """Options (or ``face_detector=<choice>``) that cannot run here → the reason, one line.

    ``defaults`` are the server's options (its ``super_resolution_weights``); ``None``: the
    published default weights."""
    from ppgan_app.apps.expression_transfer.predictor import ENHANCEMENT_MODULE
    from ppgan_app.faces.landmarks import find_shape_predictor

    out: Dict[str, str] = {}
    if importlib.util.find_spec(ENHANCEMENT_MODULE) is None:
        out["face_enhancement"] = "GPEN is not part of this installation"
    else:
        reason = _missing_weights(("gpen-512",))
        if reason:
            out["face_enhancement"] = f"unavailable: GPEN {reason}"
    if find_shape_predictor() is None:
        out["find_best_frame"] = ("unavailable: needs dlib's 68-point landmark model "
                                  "(pip install face_recognition_models)")
    reason = _super_resolution_missing(defaults.super_resolution_weights if defaults else None)
    if reason:
        out["super_resolution"] = reason
    for choice, weights in _DETECTOR_WEIGHTS.items():
        reason = _missing_weights(weights)
        if reason:
            out[f"face_detector={choice}"] = f"{choice} {reason}"
    return out


def make_widgets(defaults: TransferOptions, unavailable: Mapping[str, str]) -> Dict[str, Any]:
    """One Gradio input per job option, in :data:`JOB_OPTIONS` order, named by its field.

    Call inside a ``gr.Blocks`` context; ``defaults`` are the server's options (its flags).
    """
    import gradio as gr

    widgets: Dict[str, Any] = {}
    for group, names in (("basic", BASIC), ("advanced", ADVANCED)):
        holder = gr.Group() if group == "basic" else gr.Accordion("Advanced options", open=False)
        with holder:
            for name in names:
                widgets[name] = _widget(gr, _field(name), getattr(defaults, name), unavailable)
    return widgets


def _widget(gr: Any, f: dataclasses.Field, default: Any, unavailable: Mapping[str, str]) -> Any:
    """The Gradio input for one option field."""
    name, kind, info = f.name, value_kind(f), f.metadata["help"]
    common = {"label": label(name), "elem_id": f"opt-{name}"}
    choices = list(choices_of(f))
    if name in unavailable:
        info = f"{info} ({unavailable[name]})"
        if choices:  # an option off by default: only "off" is offered
            return gr.Dropdown(choices=[OFF], value=OFF[1], info=info, interactive=False, **common)
        return gr.Checkbox(value=False, info=info, interactive=False, **common)
    if kind is bool:
        return gr.Checkbox(value=bool(default), info=info, **common)
    if choices and f.default is None:  # off unless chosen: "off" first, for None
        return gr.Dropdown(choices=[OFF, *((c, c) for c in choices)],
                           value=OFF[1] if default is None else default, info=info, **common)
    if choices:
        offered = [c for c in choices if f"{name}={c}" not in unavailable]
        notes = [unavailable[f"{name}={c}"] for c in choices if c not in offered]
        if notes:
            info = f"{info}. Not offered here: {'; '.join(notes)}"
        fallback = f.default if f.default in offered else offered[0]
        return gr.Dropdown(choices=offered, value=default if default in offered else fallback,
                           info=info, **common)
    if kind is float:
        return gr.Number(value=default, info=info, **common)
    if kind is int:
        return gr.Number(value=default, precision=0, info=f"{info} (empty: none)"
                         if f.default is None else info, **common)
    return gr.Textbox(value=default or "", info=info, **common)


def job_options(defaults: TransferOptions, values: Mapping[str, Any],
                unavailable: Mapping[str, str]) -> TransferOptions:
    """The server's options with a job's ``values`` (page widgets or API arguments), checked.

    Raises:
        InputError: an option a job may not set, an unavailable one, or a bad value.
    """
    from ppgan_app.errors import InputError

    changes: Dict[str, Any] = {}
    for name, value in values.items():
        if name not in JOB_OPTIONS:
            raise InputError(f"option {name} cannot be set per job; the page sets: "
                             f"{', '.join(JOB_OPTIONS)}")
        changes[name] = _coerce(_field(name), value)
    for name, value in changes.items():
        reason = unavailable.get(f"{name}={value}") or (
            unavailable.get(name) if value not in (None, False) else None)
        if reason:
            raise InputError(f"--{name} {value} cannot be used here: {reason}")
    return dataclasses.replace(defaults, **changes)


def _coerce(f: dataclasses.Field, value: Any) -> Any:
    """A widget's value as the field's type (Gradio numbers are floats; empty is ``None``)."""
    kind = value_kind(f)
    if value is None or value == "":
        return None if f.default is None else f.default
    if kind is int and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def page_words(message: str, files: Optional[Mapping[str, str]] = None) -> str:
    """A KitError message in the page's words: ``--flag`` → its label, temp paths → file names.

    ``files`` maps temp paths (Gradio's copies) to the names the user chose.
    """
    names = {f.name for f in option_fields()}
    for path, shown in sorted((files or {}).items(), key=lambda kv: -len(kv[0])):
        message = message.replace(path, shown)

    def swap(match: "re.Match[str]") -> str:
        name = match.group(1)
        return f"“{label(name)}”" if name in names else match.group(0)

    return " ".join(re.sub(r"--([a-z_]+)", swap, message).split())


def option_labels() -> List[str]:
    """Labels of the job options in page order (docs and tests)."""
    return [label(n) for n in JOB_OPTIONS]
