"""``ppgan-app`` / ``applications/tools/web-demo.py``: the expression-transfer web app (Gradio).

    ppgan-app                                 # http://127.0.0.1:7860/, official vox-256 model
    ppgan-app --relative --adapt_scale        # the page's defaults
    ppgan-app --port 0 --weight_path vox-cpk.pdparams
    ppgan-app --gan_checkpoint output_dir/<run>/iter_0002000_checkpoint.pdparams   # + GAN tab

The server's own flags are the fields of :class:`~ppgan_app.apps.web.options.WebOptions`;
every option of ``first-order-demo.py`` is a flag here too (the fields of
:class:`~ppgan_app.apps.expression_transfer.options.TransferOptions`): the model flags choose the
networks, built once at start; the others are the defaults the page shows. Exit codes as the
demo's: 2 for bad flags, weights or a checkpoint that cannot be loaded, or ``--share`` without
internet (at start, before serving); 130/143 when stopped.
"""
from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from typing import Any, List, Optional

from ppgan_app.apps.web.options import WebOptions
from ppgan_app.cli.first_order import PredictorRun

logger = logging.getLogger("ppgan_app.web")

#: Predictor options that make no sense for a server (each job has its own folder).
_NOT_FLAGS = ("output", "filename")


@dataclass(frozen=True)
class WebRun(PredictorRun):
    """A parsed web command line: server options and the page's default predictor options."""

    server: WebOptions
    options: Any  # TransferOptions


def build_parser() -> argparse.ArgumentParser:
    """The web app's flags: server flags plus every predictor option of the demo."""
    from ppgan_app.apps.expression_transfer.options import TransferOptions
    from ppgan_app.cli.first_order import ConsoleFlags
    from ppgan_app.cli.options import Parser, add_options

    p = Parser(prog="ppgan-app", argument_default=argparse.SUPPRESS,
               description="Web app for expression transfer (Gradio): open the printed address "
                           "in a browser; the Animate tab turns a portrait and a driving video "
                           "into a video, the Live tab animates the portrait with your webcam.")
    add_options(p, WebOptions, suppress=True)
    add_options(p, TransferOptions, skip=_NOT_FLAGS, suppress=True)
    add_options(p, ConsoleFlags, suppress=True)
    return p


def parse(argv: Optional[List[str]]) -> WebRun:
    """The checked web command line (options checked before the server starts)."""
    from ppgan_app.apps.expression_transfer.options import TransferOptions
    from ppgan_app.cli.first_order import predictor_kwargs
    from ppgan_app.cli.options import options_from

    args = build_parser().parse_args(argv)
    server = options_from(WebOptions, args)
    server_only = {f for f in vars(args) if f in WebOptions.__dataclass_fields__}
    kwargs = {k: v for k, v in predictor_kwargs(args).items() if k not in server_only}
    return WebRun(server, TransferOptions.from_kwargs(progress=False, **kwargs))


def main(argv: Optional[List[str]] = None) -> int:
    """Serve until Ctrl-C/SIGTERM; return the exit code (2 bad flags, 130/143 stopped)."""
    from ppgan_app.cli.common import run_main

    return run_main(parse, _serve, argv, logger.name, console=True)


def _serve(run: WebRun) -> int:
    import importlib.util

    from ppgan_app.errors import InputError

    if importlib.util.find_spec("gradio") is None:
        raise InputError("the web app needs Gradio, which is not installed: pip install -r "
                         "requirements.txt (or pip install 'gradio>=6,<7' gradio_client)")
    from ppgan_app.apps.web.app import serve

    return serve(run.server, run.options)


if __name__ == "__main__":
    sys.exit(main())
