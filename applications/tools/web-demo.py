"""Expression transfer web app (same as the ``ppgan-app`` command): see ``--help``.

Example: python applications/tools/web-demo.py --relative --adapt_scale
"""
import sys

from ppgan_app.cli.web import main

if __name__ == "__main__":
    sys.exit(main())
