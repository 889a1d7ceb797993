"""The web app's own options (``ppgan-app``), stated once as :class:`WebOptions`.

Built like :class:`~ppgan_app.apps.expression_transfer.options.TransferOptions`: one frozen
dataclass whose field metadata (:func:`option`) holds the help text and the check, read by the
command line (:mod:`ppgan_app.cli.web`); :func:`ppgan_app.apps.web.app.serve` takes it. The
expression-transfer options themselves stay in ``TransferOptions`` (each is a flag here too).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Optional

from ppgan_app.apps.expression_transfer.options import option
from ppgan_app.errors import InputError

#: Models the Live tab can run: the distilled mobile model, or the Animate tab's networks.
LIVE_MODELS = ("mobile", "same")


def _between(low: float, high: Optional[float] = None) -> Callable[[Any], Optional[str]]:
    def check(value: Any) -> Optional[str]:
        if high is None:
            return None if value >= low else f"must be >= {low:g}"
        return None if low <= value <= high else f"must be in {low:g}..{high:g}"
    return check


def _positive(value: float) -> Optional[str]:
    return None if value > 0 else "must be > 0"


def _live_model(value: str) -> Optional[str]:
    return None if value in LIVE_MODELS else f"must be one of: {', '.join(LIVE_MODELS)}"


@dataclass(frozen=True)
class WebOptions:
    """How the app is served (the expression-transfer options are ``TransferOptions``)."""

    host: str = option("127.0.0.1", "address to listen on (127.0.0.1: this machine only; "
                       "0.0.0.0 opens it to the network, without any login)", metavar="ADDR")
    port: int = option(7860, "port (0: a free one)", check=_between(0, 65535), metavar="N")
    share: bool = option(False, "also publish a public link through Gradio's share service "
                         "(needs internet; without it the app stops with one line)")
    gan_checkpoint: Optional[str] = option(
        None, "a GAN training checkpoint (tools/main.py): adds the GAN tab with sample grids, "
        "per-class rows and latent interpolations", metavar="FILE", kind=str)
    max_upload_mb: float = option(64.0, "largest upload accepted, in MB", check=_positive,
                                  metavar="MB")
    queue_size: int = option(8, "jobs that may wait while one runs (more are refused)",
                             check=_between(1), metavar="N")
    live_model: str = option("mobile", "the Live tab's model: mobile (the distilled vox-mobile, "
                             "fast) or same (the Animate tab's networks)", check=_live_model,
                             metavar="{mobile,same}")

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            check = f.metadata.get("check")
            value = getattr(self, f.name)
            problem = check(value) if check is not None and value is not None else None
            if problem:
                raise InputError(f"--{f.name} {problem}, got {value!r}")

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> "WebOptions":
        """Options from the keyword arguments that name a field (others are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in kwargs.items() if k in names})
