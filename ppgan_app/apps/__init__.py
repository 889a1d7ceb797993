"""Applications built on the kit's networks: ``FirstOrderPredictor`` (expression transfer, in
:mod:`ppgan_app.apps.expression_transfer`), ``SuperResolutionPredictor`` / ``RealSRPredictor``
(in :mod:`ppgan_app.apps.super_resolution`), GAN sampling and the shared video I/O."""
from ppgan_app.apps.expression_transfer import FirstOrderPredictor, RunSummary
from ppgan_app.apps.super_resolution import RealSRPredictor, SuperResolutionPredictor

__all__ = ["FirstOrderPredictor", "RealSRPredictor", "RunSummary", "SuperResolutionPredictor"]
