"""Every option of the expression-transfer predictor, stated once.

:class:`TransferOptions` is a frozen dataclass: each field's default is the one default, and
its metadata holds the help text, PaddleGAN's default (where ours differs) and the check of its
value. The command lines (:mod:`ppgan_app.cli.first_order`, :mod:`ppgan_app.cli.web`) build
their flags from these fields, the web app's page its form,
:class:`~ppgan_app.apps.expression_transfer.predictor.FirstOrderPredictor` takes them as
keyword arguments, and :meth:`TransferOptions.__post_init__` checks them all before any work, so a
bad value is one :class:`~ppgan_app.errors.InputError` naming the flag.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, Optional, Sequence

from ppgan_app.errors import InputError

_SAME = object()  # PaddleGAN's default is ours


def option(default: Any, help: str, *, paddlegan: Any = _SAME,
           choices: Optional[Sequence[str]] = None,
           check: Optional[Callable[[Any], Optional[str]]] = None,
           cli: bool = True, metavar: Optional[str] = None, kind: Optional[type] = None) -> Any:
    """A dataclass field with its help text and checks.

    Args:
        default: the one default.
        help: one-line help (the CLI's and the docs').
        paddlegan: PaddleGAN's default when it differs from ours.
        choices: names of choice lists (see :func:`_choices`), each owned by its module.
        check: ``value -> error text or None`` for other rules.
        cli: the option is a command-line flag (``progress`` is API-only).
        kind: value type when the default (``None``) does not tell it.
    """
    meta = {"help": help, "paddlegan": paddlegan, "choices": tuple(choices or ()),
            "check": check, "cli": cli, "metavar": metavar, "kind": kind}
    return field(default=default, metadata=meta)


def _at_least(low: float) -> Callable[[Any], Optional[str]]:
    def check(value: Any) -> Optional[str]:
        return None if value >= low else f"must be >= {low:g}"
    return check


def _ratio(value: float) -> Optional[str]:
    return None if 0.0 < value <= 2.0 else "must be in (0, 2]"


def check_filename(filename: str) -> str:
    """A result name is a plain ``.mp4`` file name inside the output folder.

    Raises:
        InputError: the name has a folder part (``sub/x.mp4``, ``../x.mp4``, an absolute path),
            is empty or a dot name, or does not end in ``.mp4``.
    """
    name = str(filename)
    if not name or name in (".", "..") or os.path.basename(name) != name or "/" in name \
            or (os.sep != "/" and os.sep in name):
        raise InputError(f"--filename {name!r} must be a plain file name inside --output "
                         "(no folders); use --output to choose the folder")
    if not name.lower().endswith(".mp4"):
        raise InputError(f"--filename {name!r} must end in .mp4 (the result is an H.264 mp4)")
    return name


def _filename(value: str) -> Optional[str]:
    check_filename(value)
    return None


def _device(value: Optional[str]) -> Optional[str]:
    if value is not None:
        from ppgan_app.utils.device import check_device

        check_device(value)
    return None


def _choices(name: str) -> Sequence[str]:
    """The one list of choices of ``name``, from the module that owns it."""
    if name == "face_detector":
        from ppgan_app.faces.detectors import DETECTOR_NAMES
        return DETECTOR_NAMES
    if name == "crop_driving":
        from ppgan_app.faces.driving_crop import CROP_DRIVING_CHOICES
        return CROP_DRIVING_CHOICES
    if name == "engine":
        from ppgan_app.apps.expression_transfer.fomm_animator import ENGINE_CHOICES
        return ENGINE_CHOICES
    if name == "precision":
        from ppgan_app.inference.engines import PRECISIONS
        return PRECISIONS
    raise KeyError(name)


@dataclass(frozen=True)
class TransferOptions:
    """Options of :class:`FirstOrderPredictor` (PaddleGAN's names; a few of our own)."""

    config: Any = option(None, "architecture YAML file (a dict from the API); default: the "
                         "config a kit-trained checkpoint carries, else the packaged vox-256 "
                         "config", metavar="YAML")
    weight_path: Optional[str] = option(
        None, "checkpoint file, known name (vox-cpk, vox-cpk-512, vox-mobile), kit training "
        "checkpoint or tools/export_model.py folder; default: the official checkpoint, "
        "downloaded once", metavar="FILE", kind=str)
    output: str = option("output", "output folder", metavar="DIR")
    filename: str = option("result.mp4", "output file name (.mp4) inside --output",
                           check=_filename, metavar="NAME")
    relative: bool = option(False, "relative keypoint motion (what you almost always want)")
    adapt_scale: bool = option(False, "scale the motion by the ratio of keypoint convex-hull "
                               "areas")
    find_best_frame: bool = option(False, "measure motion from the driving frame whose face "
                                   "pose is closest to the portrait's (needs dlib's 68-point "
                                   "landmark model)")
    best_frame: Optional[int] = option(None, "measure motion from this driving frame",
                                       check=lambda v: None if v is None or v >= 0
                                       else "must be >= 0", metavar="N", kind=int)
    ratio: float = option(0.4, "radius of the pasted face region as a fraction of the face "
                          "crop's height (0.4-0.5)", check=_ratio)
    face_detector: str = option(
        "yunet", "face detector: yunet (no download; crops agree best with BlazeFace's), "
        "blazeface and sfd (PaddleGAN's, weights downloaded once), dlib (HOG)",
        paddlegan="sfd", choices=("face_detector",))
    multi_person: bool = option(False, "animate every face found, not only the largest")
    image_size: Optional[int] = option(
        None, "network input size: 256, or 512 for the 512 model; default: the size a "
        "kit-trained checkpoint (or --config) was trained on, else 256",
        check=lambda v: None if v is None or v >= 1 else "must be >= 1", metavar="S", kind=int)
    batch_size: int = option(1, "driving frames per network call (gives the same frames as 1)",
                             check=_at_least(1), metavar="N")
    face_enhancement: bool = option(False, "GPEN face restoration of the animated faces")
    mobile_net: bool = option(False, "the small distilled model (vox-mobile)")
    slice_size: int = option(0, "driving frames held in memory at once (0 = 16)",
                             check=_at_least(0), metavar="N")
    device: Optional[str] = option(None, "device to run on: cpu, gpu, gpu:N, xpu (default: "
                                   "Paddle's default)", paddlegan="gpu unless --cpu",
                                   check=_device, kind=str)
    engine: str = option("auto", "inference engine: openvino (OpenVINO on the ONNX graphs, "
                         "CPU; the fastest, opt-in), fast (Paddle Inference + oneDNN, CPU), "
                         "dygraph, or auto (fast on the CPU, openvino for int8, dygraph on GPU)",
                         paddlegan="dygraph", choices=("engine",))
    precision: str = option("fp32", "fp32; bf16: the fast and openvino engines run the "
                            "generator's decoder in bfloat16 (faster on CPUs with AVX512-BF16 "
                            "or AMX); int8: the openvino engine's decoder quantised by NNCF, "
                            "calibrated once on the first 16 driving frames. Frames differ "
                            "slightly (quality gate in docs/performance.md)",
                            choices=("precision",))
    audio: bool = option(True, "copy the driving video's sound track (when it has one)",
                         paddlegan=False)
    crop_driving: str = option(
        "auto", "crop the driving video to one square per shot around its face: auto (when the "
        "face is small in the frame or the frame is not square), on, off",
        paddlegan="off (whole frames squashed to a square)", choices=("crop_driving",))
    smooth: bool = option(False, "smooth the driving keypoints (causal One-Euro filter): less "
                          "jitter, a little lag")
    no_face_ok: bool = option(False, "animate the whole portrait when no face is found in it "
                              "(otherwise an error)")
    progress: bool = option(True, "show a progress bar", cli=False)

    def __post_init__(self) -> None:
        if isinstance(self.crop_driving, bool):  # the old on/off flag
            object.__setattr__(self, "crop_driving", "on" if self.crop_driving else "off")
        for f in dataclasses.fields(self):
            check_field(f, getattr(self, f.name))
        if self.precision != "fp32" and self.engine == "dygraph":
            raise InputError(f"--precision {self.precision} needs the fast or openvino engine "
                             "(int8: openvino); use --engine auto (on the CPU) or --precision "
                             "fp32")

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> "TransferOptions":
        """Options from keyword arguments; an unknown name is an :class:`InputError`."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(kwargs) - names)
        if unknown:
            raise InputError(f"unknown option(s) {', '.join(unknown)}; known: "
                             f"{', '.join(sorted(names))}")
        return cls(**kwargs)

    def changed(self) -> Dict[str, Any]:
        """Options that differ from the defaults (for logging)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if getattr(self, f.name) != f.default}


def value_kind(f: dataclasses.Field) -> Optional[type]:
    """The value type of an option: from its metadata, else its default's (``None``: any)."""
    if f.metadata.get("kind") is not None:
        return f.metadata["kind"]
    return type(f.default) if isinstance(f.default, (bool, int, float, str)) else None


def check_field(f: dataclasses.Field, value: Any) -> None:
    flag = f"--{f.name}"
    kind = value_kind(f)
    if value is None and f.default is None:
        return
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind in (int, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) \
            and (kind is float or float(value).is_integer())
    else:
        ok = kind is None or isinstance(value, kind)
    if not ok:
        raise InputError(f"{flag} must be {'true or false' if kind is bool else kind.__name__}"
                         f", got {value!r}")
    choices = choices_of(f)
    if choices and value not in choices:
        raise InputError(f"{flag} {value!r} is not one of: {', '.join(choices)}")
    check = f.metadata["check"]
    problem = check(value) if check is not None else None
    if problem:
        raise InputError(f"{flag} {problem}, got {value!r}")


def option_fields() -> Iterator[dataclasses.Field]:
    """The option fields in declaration order."""
    return iter(dataclasses.fields(TransferOptions))


def choices_of(f: dataclasses.Field) -> Sequence[str]:
    """The allowed values of an option (empty when free)."""
    return [c for name in f.metadata["choices"] for c in _choices(name)]
