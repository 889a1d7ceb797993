"""Samples of a trained GAN: PNG folders, grids, interpolation strips, labelled data sets.

    python tools/generate.py images --checkpoint RUN/iter_0004000_checkpoint.pdparams --num 1000 --output gen/
    python tools/generate.py grid --checkpoint CKPT --output grid.png
    python tools/generate.py interpolate --checkpoint CKPT --output strip.png
    python tools/generate.py augment --checkpoint COND_CKPT --per_class 500 --output augmented/

See ``python tools/generate.py <command> --help`` and ``ppgan_app/cli/generate.py``.
"""
from __future__ import annotations

import sys

from ppgan_app.cli.generate import main

if __name__ == "__main__":
    sys.exit(main())
