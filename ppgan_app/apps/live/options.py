"""Every option of live mode, stated once (as :mod:`ppgan_app.apps.expression_transfer.options`).

The command line (:mod:`ppgan_app.cli.live`) builds its flags from these fields; the API takes
them as keyword arguments; :meth:`LiveOptions.__post_init__` checks them before any work.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Iterator, Optional, Sequence

from ppgan_app.errors import InputError
from ppgan_app.utils.options import Options, from_kwargs, in_range, option
from ppgan_app.utils.process import ENGINES, MAX_THREADS, PRECISIONS


def _detectors() -> Sequence[str]:
    from ppgan_app.faces.detectors import DETECTOR_NAMES
    return DETECTOR_NAMES


def _positive(value: Any) -> Optional[str]:
    return None if value > 0 else "must be > 0"


def _mp4(value: Optional[str]) -> Optional[str]:
    if value is None or str(value).lower().endswith(".mp4"):
        return None
    return "must be an .mp4 file"


@dataclass(frozen=True)
class LiveOptions(Options):
    """Options of :class:`~ppgan_app.apps.live.pipeline.LivePipeline`."""

    source_image: Optional[str] = option(None, "portrait to animate (default: the bundled "
                                         "sample portrait)", metavar="IMAGE", kind=str)
    camera: str = option("0", "camera device number, video file (played at its own frame "
                         "rate, frames dropped when behind) or stream URL", metavar="CAMERA")
    window: bool = option(False, "show the animated portrait in a window (keys: r resets the "
                          "reference pose, q or Esc quits)")
    output: Optional[str] = option(None, "also write the animated portrait to this .mp4 "
                                   "(published when the run ends)", check=_mp4, metavar="FILE",
                                   kind=str)
    config: Any = option(None, "architecture YAML; default: the checkpoint's own, else the "
                         "packaged mobile config", metavar="YAML")
    weight_path: Optional[str] = option(None, "checkpoint, known name or tools/export_model.py "
                                        "folder (default: vox-mobile)", metavar="FILE", kind=str)
    mobile_net: bool = option(True, "the small distilled model (the live default; the "
                              "negated flag runs the full vox model)")
    image_size: Optional[int] = option(None, "network input size (default: the model's)",
                                       check=in_range(1), metavar="S", kind=int)
    engine: str = option("auto", "inference engine: openvino (the fastest on a CPU), fast, "
                         "dygraph, or auto (the fastest one installed)", choices=ENGINES)
    precision: str = option("fp32", "fp32, or bf16 for the decoder (fast and openvino engines), "
                            "int8 (openvino)", choices=PRECISIONS)
    threads: int = option(1, "CPU threads of each network: the keypoint and generator stages "
                          "run at the same time, one core each (2 threads each cost 1.5x the "
                          "CPU time per frame on 2 cores, docs/performance.md)",
                          check=in_range(1, MAX_THREADS), metavar="N")
    generator_threads: int = option(0, "generator stages animating alternate frames, one "
                                    "core each: 0 = two where the engine allows it (fast, "
                                    "openvino) and the machine has two cores",
                                    check=in_range(0, 8), metavar="N")
    face_detector: str = option("yunet", "driving-face detector", choices=_detectors)
    redetect_every: int = option(10, "frames between face detections (the crop is tracked in "
                                 "between)", check=_positive, metavar="N")
    adapt_scale: bool = option(False, "scale the motion by the ratio of keypoint hull areas")
    max_frames: int = option(0, "stop after this many camera frames (0: until the source ends "
                             "or q)", check=in_range(0), metavar="N")
    report_every: float = option(5.0, "seconds between fps/latency lines", check=_positive,
                                 metavar="S")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.precision != "fp32" and self.engine == "dygraph":
            raise InputError(f"--precision {self.precision} needs the fast or openvino engine; "
                             "use --engine auto (on the CPU) or --precision fp32")

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> "LiveOptions":
        """Options from keyword arguments; an unknown name is an :class:`InputError`."""
        return from_kwargs(cls, **kwargs)


def live_fields() -> Iterator[dataclasses.Field]:
    """The option fields in declaration order."""
    return iter(dataclasses.fields(LiveOptions))
