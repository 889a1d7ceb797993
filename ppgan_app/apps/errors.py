"""The applications' errors: the kit's own types (see :mod:`ppgan_app.errors`)."""
from ppgan_app.errors import InputError, OutputError  # noqa: F401 - re-exported
