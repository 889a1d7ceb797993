"""Applications built on the kit's networks: ``FirstOrderPredictor`` (expression transfer)."""
from ppgan_app.apps.first_order_predictor import FirstOrderPredictor, RunSummary

__all__ = ["FirstOrderPredictor", "RunSummary"]
