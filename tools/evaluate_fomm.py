"""FOMM reconstruction scores of checkpoints on videos (see ``--help``)."""
import sys

from ppgan_app.cli.evaluate_fomm import main

if __name__ == "__main__":
    sys.exit(main())
