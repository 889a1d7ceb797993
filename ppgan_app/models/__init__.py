"""Models and networks. Importing this package registers them; add one import per module."""
from ppgan_app.models import criterions  # noqa: F401
from ppgan_app.models import discriminators  # noqa: F401
from ppgan_app.models import generators  # noqa: F401
from ppgan_app.models import gan_model  # noqa: F401
from ppgan_app.models import sr_model  # noqa: F401
from ppgan_app.models import firstorder  # noqa: F401
