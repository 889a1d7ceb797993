"""Per-epoch order from (seed, epoch), mid-epoch start, rank shards."""
import numpy as np

from ppgan_app.engine.data import EpochBatchSampler, SyncLoader, endless


class _Items:
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"img": np.full((1, 2, 2), i, np.float32), "class_id": np.int64(i)}


def _epoch(sampler, epoch, skip=0):
    sampler.start(epoch, skip)
    return list(sampler)


def test_order_depends_on_seed_and_epoch_only():
    a, b = EpochBatchSampler(_Items(20), 4, True, True, seed=1), EpochBatchSampler(_Items(20), 4, True, True, seed=1)
    assert _epoch(a, 3) == _epoch(b, 3)
    assert _epoch(a, 3) != _epoch(a, 4)
    assert _epoch(a, 3) != _epoch(EpochBatchSampler(_Items(20), 4, True, True, seed=2), 3)
    assert sorted(i for batch in _epoch(a, 0) for i in batch) == list(range(20))


def test_start_mid_epoch_skips_batches_and_next_epoch_is_whole():
    s = EpochBatchSampler(_Items(20), 4, True, True, seed=0)
    whole = _epoch(s, 2)
    assert _epoch(s, 2, skip=3) == whole[3:]
    assert s.epoch == 3 and len(list(s)) == 5


def test_two_ranks_get_disjoint_shards():
    shards = [_epoch(EpochBatchSampler(_Items(16), 4, True, True, 0, rank=r, world_size=2), 1) for r in (0, 1)]
    flat = [set(i for b in shard for i in b) for shard in shards]
    assert not flat[0] & flat[1] and len(flat[0] | flat[1]) == 16


def test_endless_resumes_at_the_same_batch():
    def ids(start, count):
        sampler = EpochBatchSampler(_Items(10), 3, True, True, seed=5)
        stream = endless(SyncLoader(_Items(10), sampler), sampler, start)
        return [next(stream)[1]["class_id"].numpy().tolist() for _ in range(count)]

    assert ids(0, 8)[4:] == ids(4, 4)


def test_no_forked_workers_once_openvino_ran(tmp_path, monkeypatch, caplog):
    """OpenVINO's threads do not survive a fork: a loader with workers built after it ran in
    the process reads in the main process, and says why."""
    import logging
    import sys
    import types

    import cv2

    from ppgan_app.engine.data import build_loader

    for i in range(4):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((8, 8), 40 * i, np.uint8))
    entry = {"name": "ImageFolderDataset", "data_root": str(tmp_path), "channels": 1,
             "batch_size": 2, "num_workers": 2}
    monkeypatch.setitem(sys.modules, "openvino", types.ModuleType("openvino"))
    with caplog.at_level(logging.WARNING, logger="ppgan_app.engine.data"):
        loader, _ = build_loader(entry, train=True, seed=0)
    assert isinstance(loader, SyncLoader)
    assert "OpenVINO ran in this process" in caplog.text
    assert len(list(loader)) == 2
