"""Write scikit-learn's handwritten digits (1,797 8x8 images, UCI "optdigits") as an image folder.

The stand-in for MNIST in the augmentation experiment when the MNIST idx files cannot be had
(this machine has no internet; scikit-learn ships the digits inside its wheel):

    pip install scikit-learn
    python bench/digits_image_folder.py data/digits       # data/digits/<0..9>/<index>.png
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="folder to create (one sub-folder per digit)")
    args = parser.parse_args()
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = np.clip(digits.images * (255.0 / 16.0) + 0.5, 0, 255).astype(np.uint8)  # 0..16 -> 0..255
    for i, (image, label) in enumerate(zip(pixels, digits.target)):
        folder = Path(args.out) / str(int(label))
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{i:04d}.png"), image)
    print(f"wrote {len(pixels)} images of {len(set(digits.target))} classes to {args.out}")


if __name__ == "__main__":
    main()
