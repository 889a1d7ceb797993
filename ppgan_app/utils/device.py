"""Device choice, checked where the user gives it (the list and the check live in
:mod:`ppgan_app.utils.process`; these names are kept for existing imports)."""
from __future__ import annotations

from ppgan_app.utils.process import DEVICES as DEVICE_CHOICES
from ppgan_app.utils.process import check_device

__all__ = ["DEVICE_CHOICES", "check_device", "set_device"]


def set_device(device: str) -> None:
    """Check ``device`` and make it Paddle's (process-wide) device."""
    import paddle

    paddle.set_device(check_device(device))
