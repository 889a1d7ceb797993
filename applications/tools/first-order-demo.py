"""Expression transfer demo (PaddleGAN's flags): see ``--help``.

Example: python applications/tools/first-order-demo.py --relative --adapt_scale
"""
import sys

from ppgan_app.cli.first_order import main

if __name__ == "__main__":
    sys.exit(main())
