"""Data-parallel helpers (``python -m paddle.distributed.launch --nproc_per_node N ...``)."""
from __future__ import annotations

import logging
import os
from typing import Any, Tuple

import paddle
import paddle.distributed as dist

logger = logging.getLogger(__name__)


def launched_world_size() -> int:
    """Number of processes the Paddle launcher started (1 when run directly)."""
    return int(os.environ.get("PADDLE_TRAINERS_NUM", "1"))


def init_distributed() -> Tuple[int, int]:
    """Initialise the parallel environment when launched with N > 1; return (rank, world_size)."""
    if launched_world_size() > 1:
        dist.init_parallel_env()
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def wrap_nets(model: Any, find_unused_parameters: bool = False) -> None:
    """Wrap what the model's training forward passes call in ``paddle.DataParallel`` (in place).

    A model whose training runs through composite layers (FOMM's ``gen_full``/``dis_full``)
    names them in ``data_parallel_modules()``; those attributes are wrapped and ``nets`` stay
    as they are (they are the same parameters, now reduced through the wrappers). Otherwise
    each of ``model.nets`` is wrapped, and an attribute of the model that points at the same
    net (e.g. ``model.netG``) is replaced too, so that every forward goes through the wrapper.
    """
    named = getattr(model, "data_parallel_modules", None)
    if callable(named):
        for attr in named():
            layer = getattr(model, attr)
            setattr(model, attr, paddle.DataParallel(
                layer, find_unused_parameters=find_unused_parameters))
        logger.info("wrapped %s in paddle.DataParallel", list(named()))
        return
    for name, net in list(model.nets.items()):
        wrapped = paddle.DataParallel(net, find_unused_parameters=find_unused_parameters)
        model.nets[name] = wrapped
        for attr, value in list(vars(model).items()):
            if value is net:
                setattr(model, attr, wrapped)
    logger.info("wrapped nets %s in paddle.DataParallel", list(model.nets))


def unwrap(net: paddle.nn.Layer) -> paddle.nn.Layer:
    """The layer inside a ``paddle.DataParallel`` wrapper (or ``net`` itself)."""
    return net._layers if isinstance(net, paddle.DataParallel) else net


def barrier(world_size: int) -> None:
    if world_size > 1:
        dist.barrier()
