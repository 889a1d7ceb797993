"""GAN data augmentation experiment from a YAML config (see ``ppgan_app.cli.augmentation_experiment``).

    python tools/augmentation_experiment.py -c configs/augmentation_fashion_mnist.yaml
"""
from __future__ import annotations

import sys

from ppgan_app.cli.augmentation_experiment import main

if __name__ == "__main__":
    sys.exit(main())
