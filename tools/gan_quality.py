"""Classifier-feature FD, KID, precision/recall and class coverage of GAN checkpoints.

    python tools/gan_quality.py --checkpoint RUN/iter_0004000_checkpoint.pdparams \
        --classifier checkpoints/fashion_mnist_classifier.pdparams --data_root ../shared/data/fashion-mnist

Prints the figures of the generated images and of the real-vs-real floor beside them.
"""
from __future__ import annotations

import sys

from ppgan_app.cli.quality import quality_main

if __name__ == "__main__":
    sys.exit(quality_main())
