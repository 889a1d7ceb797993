"""Loss functions, registered in ``CRITERIONS``."""
from ppgan_app.models.criterions import gan_loss  # noqa: F401
