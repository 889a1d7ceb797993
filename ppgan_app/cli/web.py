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
from typing import List, Optional

logger = logging.getLogger("ppgan_app.web")

#: Predictor options that make no sense for a server (each job has its own folder).
_NOT_FLAGS = ("output", "filename")
_SERVER_ONLY = ("host", "port", "max_upload_mb", "queue_size", "share", "quiet", "verbose",
                "cpu", "gan_checkpoint")


def build_parser() -> argparse.ArgumentParser:
    """The web app's flags: server flags plus every predictor option of the demo."""
    from ppgan_app.apps.expression_transfer.options import option_fields
    from ppgan_app.apps.web.server import MAX_UPLOAD_MB
    from ppgan_app.cli.first_order import _add_option, _Parser

    p = _Parser(prog="ppgan-app", argument_default=argparse.SUPPRESS,
                description="Web app for expression transfer: open the printed address in a "
                            "browser, upload a portrait and a driving video (or use the bundled "
                            "sample) and watch the result.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1, this machine only; "
                        "0.0.0.0 opens it to the network, without any login)")
    p.add_argument("--port", type=int, default=7860, help="port (default: 7860; 0: a free one)")
    p.add_argument("--max_upload_mb", type=float, default=MAX_UPLOAD_MB,
                   help=f"largest upload accepted (default: {MAX_UPLOAD_MB})")
    p.add_argument("--queue_size", type=int, default=8,
                   help="jobs that may wait while one runs (default: 8)")
    p.add_argument("--gan_checkpoint", default=None,
                   help="a GAN training checkpoint (tools/main.py): adds a tab with sample "
                        "grids and latent interpolations from its generator")
    p.add_argument("--share", action="store_true", default=False,
                   help="not offered: see the README (a public link needs a relay service)")
    for f in option_fields():
        if f.metadata["cli"] and f.name not in _NOT_FLAGS:
            _add_option(p, f)
    p.add_argument("--cpu", action="store_true", help="run on the CPU (same as --device cpu)")
    p.add_argument("--quiet", action="store_true", help="warnings only")
    p.add_argument("--verbose", action="store_true", help="debug logging (every request)")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    """Serve until Ctrl-C/SIGTERM; return the exit code (2 bad flags, 130/143 stopped)."""
    from ppgan_app.cli.common import console_logging, run_cli

    argv = console_logging(argv)
    return run_cli(lambda: _serve(build_parser().parse_args(argv)), logger_name=logger.name)


def _serve(args: argparse.Namespace) -> int:
    from ppgan_app.apps.expression_transfer.options import TransferOptions
    from ppgan_app.apps.web.server import ExpressionApp, make_server
    from ppgan_app.cli.first_order import _setup_runtime, predictor_kwargs
    from ppgan_app.errors import InputError

    if args.share:
        raise InputError("--share is not offered: a public link needs a relay service outside "
                         "this machine; use --host 0.0.0.0 on a network you trust, or an SSH "
                         "tunnel (ssh -L 7860:127.0.0.1:7860 host)")
    if not 0 <= args.port <= 65535:
        raise InputError(f"--port must be in 0..65535, got {args.port}")
    kwargs = {k: v for k, v in predictor_kwargs(args).items() if k not in _SERVER_ONLY}
    options = TransferOptions.from_kwargs(progress=False, **kwargs)  # checked before any work
    _setup_runtime(options.device)
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
