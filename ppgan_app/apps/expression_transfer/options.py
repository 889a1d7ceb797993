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
from dataclasses import dataclass
from typing import Any, Dict, Iterator, Optional, Sequence

from ppgan_app.errors import InputError
from ppgan_app.utils.options import SAME as _SAME  # noqa: F401 - kept for existing imports
from ppgan_app.utils.options import (changed, check_value, choices_of, from_kwargs, in_range,
                                     option, value_kind)
from ppgan_app.utils.process import ENGINES, MAX_THREADS, PRECISIONS

__all__ = ["TransferOptions", "check_filename", "choices_of", "option", "option_fields",
           "value_kind"]


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


def _detectors() -> Sequence[str]:
    from ppgan_app.faces.detectors import DETECTOR_NAMES
    return DETECTOR_NAMES


def _crop_driving() -> Sequence[str]:
    from ppgan_app.faces.driving_crop import CROP_DRIVING_CHOICES
    return CROP_DRIVING_CHOICES


def _sr_factors() -> Sequence[str]:
    from ppgan_app.apps.super_resolution.faces import SR_FACTORS
    return SR_FACTORS



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
                                   "pose is closest to the portrait's (YuNet's five landmarks; "
                                   "default: the first frame that shows a face)")
    best_frame: Optional[int] = option(None, "measure motion from this driving frame",
                                       check=in_range(0), metavar="N", kind=int)
    ratio: float = option(0.4, "radius of the pasted face region as a fraction of the face "
                          "crop's height (0.4-0.5)", check=_ratio)
    face_detector: str = option(
        "yunet", "face detector: yunet (no download; crops agree best with BlazeFace's), "
        "blazeface and sfd (PaddleGAN's, weights downloaded once), dlib (HOG)",
        paddlegan="sfd", choices=_detectors)
    multi_person: bool = option(False, "animate every face found, not only the largest")
    image_size: Optional[int] = option(
        None, "network input size: 256, or 512 for the 512 model; default: the size a "
        "kit-trained checkpoint (or --config) was trained on, else 256",
        check=in_range(1), metavar="S", kind=int)
    batch_size: int = option(1, "driving frames per network call (gives the same frames as 1)",
                             check=in_range(1), metavar="N")
    face_enhancement: bool = option(False, "GPEN face restoration of the animated faces")
    super_resolution: Optional[str] = option(
        None, "upscale the animated faces x2 or x4 with an SR network before paste-back (sharper "
        "faces in large portraits)", choices=_sr_factors, kind=str)
    super_resolution_weights: Optional[str] = option(
        None, "weights for --super_resolution: a kit SR checkpoint or SR weight file; default: "
        "PaddleGAN's RealSR, downloaded once", metavar="FILE", kind=str)
    mobile_net: bool = option(False, "the small distilled model (vox-mobile)")
    slice_size: int = option(0, "driving frames held in memory at once (0 = 16)",
                             check=in_range(0), metavar="N")
    device: Optional[str] = option(None, "device to run on: cpu, gpu, gpu:N, xpu (default: "
                                   "Paddle's default)", paddlegan="gpu unless --cpu",
                                   check=_device, kind=str)
    engine: str = option("auto", "inference engine: openvino (OpenVINO on the ONNX graphs, "
                         "CPU; the fastest), fast (Paddle Inference + oneDNN, CPU), dygraph, or "
                         "auto (the fastest installed on the CPU, dygraph on GPU)",
                         paddlegan="dygraph", choices=ENGINES)
    precision: str = option("fp32", "fp32; bf16: the fast and openvino engines run the "
                            "generator's decoder in bfloat16 (faster on CPUs with AVX512-BF16 "
                            "or AMX); int8: the openvino engine's decoder quantised by NNCF, "
                            "calibrated once on the first 16 driving frames. Frames differ "
                            "slightly (quality gate in docs/performance.md)",
                            choices=PRECISIONS)
    threads: Optional[int] = option(
        None, "CPU math threads (default: the cores this process may use)",
        check=in_range(1, MAX_THREADS), metavar="N", kind=int)
    audio: bool = option(True, "copy the driving video's sound track (when it has one)",
                         paddlegan=False)
    crop_driving: str = option(
        "auto", "crop the driving video to one square per shot around its face: auto (when the "
        "face is small in the frame or the frame is not square), on, off",
        paddlegan="off (whole frames squashed to a square)", choices=_crop_driving)
    smooth: bool = option(False, "smooth the driving keypoints (causal One-Euro filter): less "
                          "jitter, a little lag")
    no_face_ok: bool = option(False, "animate the whole portrait when no face is found in it "
                              "(otherwise an error)")
    progress: bool = option(True, "show a progress bar", cli=False)

    def __post_init__(self) -> None:
        if isinstance(self.crop_driving, bool):  # the old on/off flag
            object.__setattr__(self, "crop_driving", "on" if self.crop_driving else "off")
        for f in dataclasses.fields(self):
            check_value(f, getattr(self, f.name))
        if self.precision != "fp32" and self.engine == "dygraph":
            raise InputError(f"--precision {self.precision} needs the fast or openvino engine "
                             "(int8: openvino); use --engine auto (on the CPU) or --precision "
                             "fp32")

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> "TransferOptions":
        """Options from keyword arguments; an unknown name is an :class:`InputError`."""
        return from_kwargs(cls, **kwargs)

    def changed(self) -> Dict[str, Any]:
        """Options that differ from the defaults (for logging)."""
        return changed(self)


def option_fields() -> Iterator[dataclasses.Field]:
    """The option fields in declaration order."""
    return iter(dataclasses.fields(TransferOptions))
