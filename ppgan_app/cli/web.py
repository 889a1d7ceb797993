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
import dataclasses
import logging
import sys
from typing import List, Optional

logger = logging.getLogger("ppgan_app.web")

#: Predictor options that make no sense for a server (each job has its own folder).
_NOT_FLAGS = ("output", "filename")


def build_parser() -> argparse.ArgumentParser:
    """The web app's flags: ``WebOptions`` fields plus every predictor option of the demo."""
    from ppgan_app.apps.expression_transfer.options import option_fields
    from ppgan_app.apps.web.options import WebOptions
    from ppgan_app.cli.first_order import _add_option, _Parser

    p = _Parser(prog="ppgan-app", argument_default=argparse.SUPPRESS,
                description="Web app for expression transfer (Gradio): open the printed address "
                            "in a browser; the Animate tab turns a portrait and a driving video "
                            "into a video, the Live tab animates the portrait with your webcam.")
    for f in dataclasses.fields(WebOptions):
        _add_option(p, f)
    for f in option_fields():
        if f.metadata["cli"] and f.name not in _NOT_FLAGS:
            _add_option(p, f)
    p.add_argument("--cpu", action="store_true", help="run on the CPU (same as --device cpu)")
    p.add_argument("--quiet", action="store_true", help="warnings only")
    p.add_argument("--verbose", action="store_true", help="debug logging")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    """Serve until Ctrl-C/SIGTERM; return the exit code (2 bad flags, 130/143 stopped)."""
    from ppgan_app.cli.common import console_logging, run_cli

    argv = console_logging(argv)
    return run_cli(lambda: _serve(build_parser().parse_args(argv)), logger_name=logger.name)


def _serve(args: argparse.Namespace) -> int:
    import importlib.util

    from ppgan_app.apps.expression_transfer.options import TransferOptions
    from ppgan_app.apps.web.app import serve
    from ppgan_app.apps.web.options import WebOptions
    from ppgan_app.cli.first_order import _setup_runtime, predictor_kwargs
    from ppgan_app.errors import InputError

    values = vars(args)
    web = WebOptions.from_kwargs(**values)  # checked before any work
    if importlib.util.find_spec("gradio") is None:
        raise InputError("the web app needs Gradio, which is not installed: pip install -r "
                         "requirements.txt (or pip install 'gradio>=6,<7' gradio_client)")
    web_names = {f.name for f in dataclasses.fields(WebOptions)}
    kwargs = {k: v for k, v in predictor_kwargs(args).items()
              if k not in web_names and k not in ("quiet", "verbose")}
    options = TransferOptions.from_kwargs(progress=False, **kwargs)
    _setup_runtime(options.device)
    return serve(web, options)


if __name__ == "__main__":
    sys.exit(main())
