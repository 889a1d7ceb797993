"""Generators, registered in ``GENERATORS``."""
from ppgan_app.models.generators import mlp  # noqa: F401
from ppgan_app.models.generators import dcgan  # noqa: F401
from ppgan_app.models.generators import pan  # noqa: F401
from ppgan_app.models.generators import rrdbnet  # noqa: F401
