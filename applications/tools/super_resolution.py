"""Super-resolution of a picture or a video (same as ``ppgan-super-resolution``): see ``--help``.

Example: python applications/tools/super_resolution.py --input photo.jpg --output photo_x4.png
"""
import sys

from ppgan_app.cli.super_resolution import main

if __name__ == "__main__":
    sys.exit(main())
