"""Device choice, checked where the user gives it: one list of names, one error message."""
from __future__ import annotations

from typing import Tuple

from ppgan_app.errors import InputError

#: Device names the front ends accept (``gpu:1`` style indices are allowed too).
DEVICE_CHOICES: Tuple[str, ...] = ("cpu", "gpu", "xpu")


def check_device(device: str) -> str:
    """Return ``device`` when this Paddle build can run on it.

    Raises:
        InputError: an unknown name, or a GPU/XPU asked of a build without CUDA/XPU support.
    """
    import paddle

    kind = str(device).split(":")[0]
    if kind not in DEVICE_CHOICES:
        raise InputError(f"unknown device {device!r}; choose from {', '.join(DEVICE_CHOICES)}")
    if kind == "gpu" and not paddle.is_compiled_with_cuda():
        raise InputError(f"device {device}: this Paddle build has no CUDA; install "
                         "paddlepaddle-gpu, or use --device cpu")
    if kind == "xpu" and not paddle.is_compiled_with_xpu():
        raise InputError(f"device {device}: this Paddle build has no XPU support; use --device cpu")
    return device


def set_device(device: str) -> None:
    """Check ``device`` and make it Paddle's (process-wide) device."""
    import paddle

    paddle.set_device(check_device(device))
