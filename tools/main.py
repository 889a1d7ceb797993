"""PaddleGAN's entry point: train or evaluate from a YAML config (see ``ppgan-train --help``)."""
import sys

from ppgan_app.cli.train import main

if __name__ == "__main__":
    sys.exit(main())
