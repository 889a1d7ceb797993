"""Data loading for the engine: reproducible per-epoch order that can start mid-epoch."""
from __future__ import annotations

import logging
import sys
import threading
from contextlib import contextmanager
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Tuple, Union

import numpy as np
import paddle
from paddle.io import BatchSampler, DataLoader, DistributedBatchSampler
from paddle.io.dataloader.collate import default_collate_fn

from ppgan_app.errors import KitError
from ppgan_app.registries import DATASETS
from ppgan_app.utils.config import loader_args
from ppgan_app.utils.registry import build_from_config

logger = logging.getLogger(__name__)


class EpochBatchSampler(BatchSampler):
    """``DistributedBatchSampler`` whose order is a function of (seed, epoch) only.

    Each rank gets a disjoint shard (one rank when not launched in parallel). Epoch ``e``
    is shuffled with seed ``seed + e``; ``start(epoch, skip)`` makes the next pass begin at
    batch ``skip`` of that epoch, which is how a resumed run sees the same batches.
    """

    def __init__(self, dataset: Any, batch_size: int, shuffle: bool, drop_last: bool,
                 seed: int, rank: int = 0, world_size: int = 1) -> None:
        self.inner = DistributedBatchSampler(dataset, batch_size, num_replicas=world_size,
                                             rank=rank, shuffle=shuffle, drop_last=drop_last)
        self.seed, self.epoch, self.skip = seed, 0, 0

    def start(self, epoch: int, skip: int = 0) -> None:
        self.epoch, self.skip = epoch, skip

    def __iter__(self) -> Iterator[List[int]]:
        self.inner.set_epoch(self.seed + self.epoch)
        for i, batch in enumerate(self.inner):
            if i >= self.skip:
                yield batch
        self.epoch, self.skip = self.epoch + 1, 0

    def __len__(self) -> int:
        return len(self.inner)


class SyncLoader:
    """A loader without worker threads: batches are read in the caller's thread, in order.

    Paddle's ``DataLoader`` prefetches in a thread even with ``num_workers=0``, so random
    transforms would draw from numpy's generator ahead of the training step and a resumed
    run would not replay them exactly. This one is used when ``num_workers`` is 0.
    """

    def __init__(self, dataset: Any, batch_sampler: Iterable[List[int]]) -> None:
        self.dataset, self.batch_sampler = dataset, batch_sampler

    def __iter__(self) -> Iterator[Dict[str, paddle.Tensor]]:
        for indices in self.batch_sampler:
            yield to_tensors(default_collate_fn([self.dataset[i] for i in indices]))

    def __len__(self) -> int:
        return len(self.batch_sampler)


def to_tensors(batch: Any) -> Any:
    """numpy leaves of a collated batch (dicts/lists) to Paddle tensors."""
    if isinstance(batch, Mapping):
        return {k: to_tensors(v) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return [to_tensors(v) for v in batch]
    if isinstance(batch, np.ndarray) and batch.dtype.kind in "biuf":
        return paddle.to_tensor(batch)
    return batch


Loader = Union[DataLoader, SyncLoader]


def build_loader(dataset_cfg: Mapping[str, Any], train: bool, seed: int,
                 rank: int = 0, world_size: int = 1) -> Tuple[Loader, EpochBatchSampler]:
    """Dataset (DATASETS) and loader from one ``dataset.train``/``dataset.test`` entry.

    The loader keys ``batch_size``, ``num_workers``, ``shuffle`` and ``drop_last`` are taken
    out of the entry; the rest builds the dataset. With ``num_workers`` > 0, Paddle's
    ``DataLoader`` reads in worker processes: the batch order is still reproducible, but random
    transforms draw from the workers' generators, so ``--resume`` replays them exactly only
    with ``num_workers: 0`` (the default).
    """
    ds_cfg, loader_cfg = loader_args(dataset_cfg, train)
    dataset = build_from_config(ds_cfg, DATASETS)
    sampler = EpochBatchSampler(dataset, loader_cfg["batch_size"], loader_cfg["shuffle"],
                                loader_cfg["drop_last"], seed, rank, world_size)
    if train and len(sampler) == 0:
        raise ValueError(f"the train set has {len(dataset)} items, fewer than one batch of "
                         f"{loader_cfg['batch_size']} (drop_last is on)")
    if loader_cfg["num_workers"] > 0 and _openvino_ran():
        logger.warning("num_workers %d: OpenVINO ran in this process and forked loader workers "
                    "would crash, so the data loads in the main process (train in a fresh "
                    "process for workers)", loader_cfg["num_workers"])
    elif loader_cfg["num_workers"] > 0:
        return DataLoader(dataset, batch_sampler=sampler, num_workers=loader_cfg["num_workers"],
                          return_list=True), sampler
    return SyncLoader(dataset, sampler), sampler


def _openvino_ran() -> bool:
    """Whether OpenVINO was loaded in this process (its threads do not survive a fork: Paddle
    DataLoader workers forked afterwards die of SIGSEGV, docs/performance.md)."""
    return "openvino" in sys.modules


def endless(loader: Loader, sampler: EpochBatchSampler,
            start_iter: int = 0) -> Iterator[Tuple[int, Dict[str, paddle.Tensor]]]:
    """Yield (epoch, batch) forever, starting where ``start_iter`` iterations left off."""
    epoch, skip = divmod(start_iter, len(sampler))
    sampler.start(epoch, skip)
    while True:
        epoch = sampler.epoch
        for batch in loader:
            yield epoch, batch


@contextmanager
def worker_errors() -> Iterator[List[BaseException]]:
    """Collect the errors of Paddle's loader thread instead of letting it print tracebacks.

    With ``num_workers`` > 0, an error in a dataset's ``__getitem__`` (an unreadable image...)
    is re-raised in Paddle's prefetch thread, which prints it, while the main thread only gets
    "Blocking queue is killed". Inside this context such errors are kept in the yielded list;
    :func:`worker_error` turns the first into the one-line error the dataset raised.
    """
    caught: List[BaseException] = []
    previous = threading.excepthook

    def hook(args: Any) -> None:
        if "_thread_loop" in args.thread.name and args.exc_value is not None:
            caught.append(args.exc_value)
            logger.debug("data loader thread failed", exc_info=(args.exc_type, args.exc_value,
                                                                 args.exc_traceback))
        else:
            previous(args)

    threading.excepthook = hook
    try:
        yield caught
    finally:
        threading.excepthook = previous


def worker_error(caught: List[BaseException]) -> BaseException | None:
    """The first collected loader error with its message cut to the dataset's own last line
    (kit errors keep their type, so an unreadable image stays an ``InputError``)."""
    if not caught:
        return None
    err = caught[0]
    lines = [line for line in str(err).splitlines() if line.strip()]
    last = lines[-1] if lines else type(err).__name__
    message = last
    for prefix in (f"{type(err).__module__}.{type(err).__qualname__}: ", f"{type(err).__qualname__}: "):
        if last.startswith(prefix):
            message = last[len(prefix):]
            break
    if isinstance(err, KitError):
        return type(err)(message)
    return RuntimeError(f"reading the data failed: {type(err).__name__}: {message}")
