"""Optimizers and learning-rate schedulers, built from config."""
from ppgan_app.solver.builder import build_lr_scheduler, build_optimizer  # noqa: F401
from ppgan_app.solver import lr_scheduler  # noqa: F401  (registers the schedulers)
