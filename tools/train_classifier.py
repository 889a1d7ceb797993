"""Train the feature classifier behind the GAN quality metrics (a few CPU minutes).

    python tools/train_classifier.py --data_root ../shared/data/fashion-mnist \
        --output checkpoints/fashion_mnist_classifier.pdparams

Prints the test accuracy. Exit codes as every front end of the kit (0 ok, 1 fault, 2 bad input).
"""
from __future__ import annotations

import sys

from ppgan_app.cli.quality import train_classifier_main

if __name__ == "__main__":
    sys.exit(train_classifier_main())
