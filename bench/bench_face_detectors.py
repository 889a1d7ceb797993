"""Milliseconds per image of each face detector on the bundled portrait and a 1280x720 frame.

S3FD runs on seeded random weights (its published weights are not available offline; the cost
does not depend on the values). BlazeFace needs its weights: ``--blazeface_dir`` (default
``../shared/data/blazeface``); its row is skipped without them. One thread per detector where
the library allows it (the numbers are per image, median of ``--rounds``).

Usage: python bench/bench_face_detectors.py [--rounds 5] [--blazeface_dir DIR]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from harness import time_rows


def images() -> dict:
    from skimage.data import astronaut

    portrait = astronaut()
    wide = np.full((720, 1280, 3), 60, np.uint8)
    wide[100:612, 600:1112] = portrait
    return {"512x512 portrait": portrait, "1280x720 frame": wide}


def detectors(blazeface_dir: Path) -> dict:
    from ppgan_app.faces.detectors import build_raw_detector
    from ppgan_app.faces.detectors.blazeface import BlazeFaceDetector
    from ppgan_app.faces.detectors.s3fd import S3FDDetector, build_s3fd_net, \
        randomize_s3fd_weights

    out = {"yunet": build_raw_detector("yunet"), "dlib": build_raw_detector("dlib")}
    if (blazeface_dir / "blazeface.pdparams").is_file():
        out["blazeface"] = BlazeFaceDetector(str(blazeface_dir / "blazeface.pdparams"),
                                             str(blazeface_dir / "anchors.npy"))
    net = build_s3fd_net()
    randomize_s3fd_weights(net)
    out["sfd (random weights, max side 640)"] = S3FDDetector(net=net)
    return out


def main() -> None:
    import paddle

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--blazeface_dir", default=str(Path(__file__).resolve().parents[2]
                                                       / "shared" / "data" / "blazeface"))
    args = parser.parse_args()
    paddle.base.core.set_num_threads(1)
    imgs = images()
    print("| detector | " + " | ".join(f"{k} (ms)" for k in imgs) + " |")
    print("|---|" + "---|" * len(imgs))
    for name, detect in detectors(Path(args.blazeface_dir)).items():
        ms = time_rows({key: (lambda image=image: detect(image)) for key, image in imgs.items()},
                       args.rounds)
        cells = [f"{ms[key][0]:.0f}" for key in imgs]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
