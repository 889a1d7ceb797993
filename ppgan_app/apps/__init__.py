"""Applications built on the kit's networks: ``FirstOrderPredictor`` (expression transfer, in
:mod:`ppgan_app.apps.expression_transfer`), GAN sampling and the shared video I/O."""
from ppgan_app.apps.expression_transfer import FirstOrderPredictor, RunSummary

__all__ = ["FirstOrderPredictor", "RunSummary"]
