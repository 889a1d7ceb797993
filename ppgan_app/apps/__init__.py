"""Applications built on the kit's networks: ``FirstOrderPredictor`` (expression transfer, in
:mod:`ppgan_app.apps.expression_transfer`), ``SuperResolutionPredictor`` / ``RealSRPredictor``
(in :mod:`ppgan_app.apps.super_resolution`), GAN sampling and the shared video I/O."""
from typing import Any

from ppgan_app.apps.expression_transfer import FirstOrderPredictor, RunSummary

__all__ = ["FirstOrderPredictor", "RealSRPredictor", "RunSummary", "SuperResolutionPredictor"]


def __getattr__(name: str) -> Any:
    """The SR predictors, imported on first use (importing ``ppgan_app.apps`` loads no Paddle)."""
    if name in ("RealSRPredictor", "SuperResolutionPredictor"):
        from ppgan_app.apps import super_resolution

        return getattr(super_resolution, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
