"""Discriminators, registered in ``DISCRIMINATORS``."""
from ppgan_app.models.discriminators import mlp  # noqa: F401
from ppgan_app.models.discriminators import dcgan  # noqa: F401
from ppgan_app.models.discriminators import vgg_discriminator  # noqa: F401
