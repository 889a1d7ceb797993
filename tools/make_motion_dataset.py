"""Synthetic FOMM training clips from still images (see ``--help``)."""
import sys

from ppgan_app.cli.motion_dataset import main

if __name__ == "__main__":
    sys.exit(main())
