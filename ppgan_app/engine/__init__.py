"""The training engine: loop, data order, checkpoints, data-parallel helpers."""
from ppgan_app.engine.trainer import Trainer  # noqa: F401
