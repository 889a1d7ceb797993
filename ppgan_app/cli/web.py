"""``ppgan-app`` / ``applications/tools/web-demo.py``: the expression-transfer web app.

    ppgan-app                                 # http://127.0.0.1:7860/, official vox-256 model
    ppgan-app --relative --adapt_scale        # the page's defaults
    ppgan-app --port 0 --weight_path vox-cpk.pdparams
    ppgan-app --gan_checkpoint output_dir/<run>/iter_0002000_checkpoint.pdparams   # + GAN tab

Every option of ``first-order-demo.py`` is a flag here too (the same fields of
:class:`~ppgan_app.apps.expression_transfer.options.TransferOptions`): the model flags choose the
networks, built once at start; the others are the defaults the page shows. The page sets
:data:`~ppgan_app.apps.web.server.PAGE_OPTIONS` per job. Exit codes as the demo's: 2 for bad
flags or weights that cannot be found (at start, before listening), 130/143 when stopped.
"""
from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from typing import Any, List, Optional

from ppgan_app.apps.web.server import MAX_UPLOAD_MB
from ppgan_app.cli.first_order import PredictorRun
from ppgan_app.utils.options import Options, in_range, option

logger = logging.getLogger("ppgan_app.web")

#: Predictor options that make no sense for a server (each job has its own folder).
_NOT_FLAGS = ("output", "filename")


@dataclass(frozen=True)
class ServerOptions(Options):
    """The web app's own flags (the predictor's are :class:`TransferOptions`)."""

    host: str = option("127.0.0.1", "address to listen on (127.0.0.1: this machine only; "
                       "0.0.0.0 opens it to the network, without any login)")
    port: int = option(7860, "port (0: a free one)", check=in_range(0, 65535))
    max_upload_mb: float = option(MAX_UPLOAD_MB, "largest upload accepted, in MiB",
                                  check=lambda v: None if v > 0 else "must be > 0", kind=float)
    queue_size: int = option(8, "jobs that may wait while one runs", check=in_range(1))
    gan_checkpoint: Optional[str] = option(
        None, "a GAN training checkpoint (tools/main.py): adds a tab with sample grids and "
        "latent interpolations from its generator", metavar="CKPT", kind=str)
    share: bool = option(False, "not offered: see the README (a public link needs a relay "
                         "service)")


@dataclass(frozen=True)
class WebRun(PredictorRun):
    """A parsed web command line: server options and the page's default predictor options."""

    server: ServerOptions
    options: Any  # TransferOptions


def build_parser() -> argparse.ArgumentParser:
    """The web app's flags: server flags plus every predictor option of the demo."""
    from ppgan_app.apps.expression_transfer.options import TransferOptions
    from ppgan_app.cli.first_order import ConsoleFlags
    from ppgan_app.cli.options import Parser, add_options

    p = Parser(prog="ppgan-app", argument_default=argparse.SUPPRESS,
               description="Web app for expression transfer: open the printed address in a "
                           "browser, upload a portrait and a driving video (or use the bundled "
                           "sample) and watch the result.")
    add_options(p, ServerOptions, suppress=True)
    add_options(p, TransferOptions, skip=_NOT_FLAGS, suppress=True)
    add_options(p, ConsoleFlags, suppress=True)
    return p


def parse(argv: Optional[List[str]]) -> WebRun:
    """The checked web command line (options checked before the server starts)."""
    from ppgan_app.apps.expression_transfer.options import TransferOptions
    from ppgan_app.cli.first_order import predictor_kwargs
    from ppgan_app.cli.options import options_from
    from ppgan_app.errors import InputError

    args = build_parser().parse_args(argv)
    server = options_from(ServerOptions, args)
    if server.share:
        raise InputError("--share is not offered: a public link needs a relay service outside "
                         "this machine; use --host 0.0.0.0 on a network you trust, or an SSH "
                         "tunnel (ssh -L 7860:127.0.0.1:7860 host)")
    server_only = {f for f in vars(args) if f in ServerOptions.__dataclass_fields__}
    kwargs = {k: v for k, v in predictor_kwargs(args).items() if k not in server_only}
    return WebRun(server, TransferOptions.from_kwargs(progress=False, **kwargs))


def main(argv: Optional[List[str]] = None) -> int:
    """Serve until Ctrl-C/SIGTERM; return the exit code (2 bad flags, 130/143 stopped)."""
    from ppgan_app.cli.common import run_main

    return run_main(parse, _serve, argv, logger.name, console=True)


def _serve(run: WebRun) -> int:
    from ppgan_app.apps.web.server import ExpressionApp, make_server

    args, options = run.server, run.options
    gan = None
    if args.gan_checkpoint:
        from ppgan_app.apps.web.gan_panel import GanPanel

        gan = GanPanel(args.gan_checkpoint)  # a bad checkpoint: exit 2 before listening
    app = ExpressionApp(options, max_upload_mb=args.max_upload_mb, max_waiting=args.queue_size,
                        gan=gan)
    try:
        server = make_server(app, args.host, args.port)
        try:
            app.warm_up()  # weights that cannot be found: exit 2 now, not at the first job
            host, port = server.server_address[:2]
            if args.host not in ("127.0.0.1", "localhost", "::1"):
                logger.warning("listening on %s: anyone who can reach this machine can run "
                               "jobs (there is no login)", args.host)
            shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
            print(f"serving on http://{shown}:{port}/ (Ctrl-C stops)", flush=True)
            server.serve_forever(poll_interval=0.2)
        finally:
            server.server_close()
    finally:
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
