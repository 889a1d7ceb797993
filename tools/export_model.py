"""Export a FOMM checkpoint to the fast engine's static graphs (see ``--help``)."""
import sys

from ppgan_app.cli.export_model import main

if __name__ == "__main__":
    sys.exit(main())
