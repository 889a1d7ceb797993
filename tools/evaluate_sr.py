"""An SR network against bicubic and nearest on held-out pictures (see ``--help``)."""
import sys

from ppgan_app.cli.evaluate_sr import main

if __name__ == "__main__":
    sys.exit(main())
