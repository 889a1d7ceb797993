"""The one process policy: CPU environment, threads, device and the engine list.

Every command line makes these choices once, in :func:`ppgan_app.cli.common.run_cli` and its
entry path, in this order:

1. :func:`prepare_process` before ``paddle`` is imported: the MKL variables
   (:func:`~ppgan_app.utils.cpu_env.apply_cpu_env`) and Paddle's noise filters;
2. :func:`apply_process_policy` after the options are parsed: the device and the CPU thread
   count (``--threads``; default :func:`cpu_threads`).

Library code never sets them: it takes ``threads``/``device``/``engine`` as arguments and
checks them against the lists here (:data:`ENGINES`, :data:`DEVICES`).
"""
from __future__ import annotations

import ctypes
import functools
import glob
import logging
import os
import sys
from dataclasses import dataclass
from types import ModuleType
from typing import Optional, Tuple

from ppgan_app.errors import InputError

LOG = logging.getLogger(__name__)

#: Inference engines a user may choose: ``fast`` (Paddle Inference + oneDNN, CPU), ``openvino``
#: (OpenVINO on the ONNX graphs, CPU), ``dygraph`` (the Paddle layers themselves), ``auto``
#: (the fastest installed one for the device and precision, see
#: :func:`ppgan_app.inference.engines.auto_cpu_engine`).
ENGINES: Tuple[str, ...] = ("auto", "dygraph", "fast", "openvino")
#: Numeric precisions (``bf16``: the decoder in bfloat16, fast and openvino engines; ``int8``: the
#: decoder quantised by NNCF, openvino engine); each engine states the subset it runs.
PRECISIONS: Tuple[str, ...] = ("fp32", "bf16", "int8")
#: Device kinds (``gpu:1`` style indices are accepted too).
DEVICES: Tuple[str, ...] = ("cpu", "gpu", "xpu")
#: Upper bound of ``--threads`` (a typo such as 4000 is refused before work).
MAX_THREADS = 1024


@dataclass(frozen=True)
class ProcessPolicy:
    """What :func:`apply_process_policy` decided: CPU threads, and the device (``None``:
    Paddle's default, which was left alone)."""

    threads: int
    device: Optional[str]


def cpu_threads(processes: Optional[int] = None) -> int:
    """CPU cores this process may use, shared among ``processes`` (default: the number of
    processes of a ``paddle.distributed.launch`` run, else 1).

    Respects CPU affinity (``taskset``, containers with cpusets) where the OS reports it.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    if processes is None:
        processes = int(os.environ.get("PADDLE_TRAINERS_NUM", "1") or 1)
    return max(1, cores // max(1, processes))


def check_threads(threads: Optional[int]) -> Optional[int]:
    """``threads`` when it is ``None`` or in 1..:data:`MAX_THREADS`.

    Raises:
        InputError: anything else.
    """
    if threads is not None and not 1 <= int(threads) <= MAX_THREADS:
        raise InputError(f"--threads must be in 1..{MAX_THREADS}, got {threads}")
    return threads


def check_device(device: str) -> str:
    """``device`` when this Paddle build can run on it (imports ``paddle``).

    Raises:
        InputError: an unknown name, or a GPU/XPU asked of a build without CUDA/XPU support.
    """
    import paddle

    kind = str(device).split(":")[0]
    if kind not in DEVICES:
        raise InputError(f"unknown device {device!r}; choose from {', '.join(DEVICES)}")
    if kind == "gpu" and not paddle.is_compiled_with_cuda():
        raise InputError(f"device {device}: this Paddle build has no CUDA; install "
                         "paddlepaddle-gpu, or use --device cpu")
    if kind == "xpu" and not paddle.is_compiled_with_xpu():
        raise InputError(f"device {device}: this Paddle build has no XPU support; use --device cpu")
    return device


def prepare_process() -> None:
    """Before ``paddle`` is imported: the recommended CPU environment and Paddle's noise filters.

    When ``paddle`` is already imported (a second ``main()`` in one process, a notebook), MKL
    has read its variables and they are left alone without a word: there is nothing a user
    can do about it.
    """
    from ppgan_app.utils.cpu_env import apply_cpu_env, hide_paddle_noise

    hide_paddle_noise()
    if "paddle" in sys.modules:
        LOG.debug("paddle already imported: CPU environment left as it is")
        return
    apply_cpu_env()


def set_thread_count(threads: int) -> None:
    """Paddle's CPU math threads for the calling thread (dygraph runs one thread otherwise)."""
    import paddle

    paddle.base.core.set_num_threads(int(threads))


def apply_process_policy(threads: Optional[int] = None,
                         device: Optional[str] = None) -> ProcessPolicy:
    """Set the device and CPU threads of this process; called once by each command line.

    Args:
        threads: CPU math threads (``None``: :func:`cpu_threads`).
        device: ``cpu``, ``gpu``, ``gpu:N``, ``xpu`` (``None``: Paddle's default, left alone).
            In a multi-process GPU run, ``gpu`` becomes this process's own card.

    Raises:
        InputError: a bad thread count, or a device this Paddle build cannot run on.
    """
    import paddle

    count = check_threads(threads) or cpu_threads()
    processes = int(os.environ.get("PADDLE_TRAINERS_NUM", "1") or 1)
    if device is None and processes > 1 and paddle.is_compiled_with_cuda():
        device = "gpu"  # one card per process of a distributed run
    if device is not None:
        check_device(device)
        if device == "gpu" and processes > 1:
            device = f"gpu:{paddle.distributed.ParallelEnv().device_id}"
        paddle.set_device(device)
    set_thread_count(count)
    LOG.debug("process policy: %d CPU threads, device %s", count, device or paddle.get_device())
    return ProcessPolicy(count, device)


@functools.lru_cache(maxsize=None)
def _bundled_openmp(module_name: str, module_file: str) -> Tuple[ctypes.CDLL, ...]:
    """The ``libgomp`` copies bundled with a wheel (``<package>.libs/``), loaded once."""
    folder = os.path.join(os.path.dirname(module_file), os.pardir, module_name + ".libs")
    libs = []
    for path in glob.glob(os.path.join(folder, "libgomp*")):
        try:
            libs.append(ctypes.CDLL(path))
        except OSError as err:
            LOG.debug("cannot load %s: %s", path, err)
    return tuple(libs)


def limit_bundled_openmp(module: ModuleType, threads: int) -> None:
    """Set the OpenMP thread count of the ``libgomp`` bundled with ``module``'s wheel, for the
    calling thread (the caller chooses ``threads``; Paddle's own threads are not touched).

    yuface's OpenMP spins on a busy machine: on 2 shared cores one 256x256 detection took
    0.4-0.7 s with 2 threads and 0.02 s with 1, so the YuNet detector asks for 1."""
    for lib in _bundled_openmp(module.__name__, module.__file__):
        try:
            lib.omp_set_num_threads(int(threads))
        except AttributeError as err:
            LOG.debug("no omp_set_num_threads in %s: %s", lib, err)
