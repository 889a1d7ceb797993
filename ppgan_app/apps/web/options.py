"""The web app's own options (``ppgan-app``), stated once as :class:`WebOptions`.

One frozen dataclass of :func:`~ppgan_app.utils.options.option` fields, like
:class:`~ppgan_app.apps.expression_transfer.options.TransferOptions`: the command line
(:mod:`ppgan_app.cli.web`) builds its flags from them and :func:`ppgan_app.apps.web.app.serve`
takes the checked instance. The expression-transfer options stay in ``TransferOptions`` (each is
a flag of ``ppgan-app`` too).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ppgan_app.utils.options import Options, in_range, option

#: Models the Live tab can run: the distilled mobile model, or the Animate tab's networks.
LIVE_MODELS = ("mobile", "same")


@dataclass(frozen=True)
class WebOptions(Options):
    """How the app is served (the expression-transfer options are ``TransferOptions``)."""

    host: str = option("127.0.0.1", "address to listen on (127.0.0.1: this machine only; "
                       "0.0.0.0 opens it to the network, without any login)", metavar="ADDR")
    port: int = option(7860, "port (0: a free one)", check=in_range(0, 65535), metavar="N")
    share: bool = option(False, "also publish a public link through Gradio's share service "
                         "(needs internet; without it the app stops with one line)")
    gan_checkpoint: Optional[str] = option(
        None, "a GAN training checkpoint (tools/main.py): adds the GAN tab with sample grids, "
        "per-class rows and latent interpolations", metavar="FILE", kind=str)
    max_upload_mb: float = option(64.0, "largest upload accepted, in MB",
                                  check=lambda v: None if v > 0 else "must be > 0", metavar="MB")
    queue_size: int = option(8, "jobs that may wait while one runs (more are refused)",
                             check=in_range(1), metavar="N")
    live_model: str = option("mobile", "the Live tab's model: mobile (the distilled mobile network, "
                             "fast) or same (the Animate tab's networks)", choices=LIVE_MODELS)
