"""Print how each face detector's crops agree with BlazeFace's, and fit the box mappings.

    python tools/face_crop_convention.py [--blazeface_dir ../shared/data/blazeface]

BlazeFace runs on PaddleGAN's weights (``--blazeface_dir`` holds ``blazeface.pdparams`` and
``anchors.npy``; default: the weight cache). For every other detector the table gives the faces
it matched, the mean IoU of its final crop (PaddleGAN's margin rule) with BlazeFace's crop with
its raw boxes, with the mapping fitted here, with the mapping in ``ppgan_app/faces/convention.py``
and cross-validated (fitted on half the images, measured on the other half). Paste the fitted
mappings into ``convention.py`` when they change.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional

import numpy as np

from ppgan_app.cli.common import run_cli


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


def _main(args: argparse.Namespace) -> int:
    from ppgan_app.faces import calibration
    from ppgan_app.faces.convention import MAPPINGS
    from ppgan_app.faces.detectors import build_raw_detector

    reference = _reference(args.blazeface_dir)
    images = calibration.face_set(Path(args.blazeface_dir) if args.blazeface_dir else None)
    detectors = {"dlib": build_raw_detector("dlib"), "yunet": build_raw_detector("yunet"),
                 "blazeface (PaddleGAN's way)": _paddlegan_blazeface(reference)}
    reports = calibration.collect_pairs(images, reference, detectors)
    print(f"{len(images)} images, {reports['dlib'].reference_faces} BlazeFace faces\n")
    print(f"| detector | faces matched | IoU raw | IoU fitted | IoU in convention.py | "
          f"IoU cross-validated | fitted mapping (dx, dy, kw, kh) |")
    print("|---|---|---|---|---|---|---|")
    for name, report in reports.items():
        fitted = calibration.fit_mapping(report.pairs)
        cells = [f"{report.crop_ious().mean():.3f}", f"{report.crop_ious(fitted).mean():.3f}",
                 f"{report.crop_ious(MAPPINGS[name]).mean():.3f}" if name in MAPPINGS else "-",
                 f"{calibration.cross_validated_ious(report).mean():.3f}"]
        print(f"| {name} | {len(report.pairs)}/{report.reference_faces} | {' | '.join(cells)} | "
              f"{fitted.dx}, {fitted.dy}, {fitted.kw}, {fitted.kh} |")
    print("| sfd | not measured: S3FD's weights are not available offline; boxes used as they "
          "are (PaddleGAN's own framing) | | | | | |")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blazeface_dir", help="folder with blazeface.pdparams and anchors.npy")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    return run_cli(lambda: _main(args))


if __name__ == "__main__":
    sys.exit(main())
