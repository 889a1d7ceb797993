"""Live expression transfer from a camera or a video played as one: see ``--help``.

Example: python applications/tools/first-order-live.py --source_image me.jpg --camera 0 --window
"""
import sys

from ppgan_app.cli.live import main

if __name__ == "__main__":
    sys.exit(main())
