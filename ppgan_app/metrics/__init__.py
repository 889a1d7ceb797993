"""Metrics, registered in ``METRICS``; each has ``reset()``, ``update(preds, gts)``, ``accumulate()``."""
from ppgan_app.metrics import classifier_features  # noqa: F401
from ppgan_app.metrics import frechet  # noqa: F401
from ppgan_app.metrics import inception  # noqa: F401
from ppgan_app.metrics import psnr_ssim  # noqa: F401
from ppgan_app.metrics import reconstruction  # noqa: F401
