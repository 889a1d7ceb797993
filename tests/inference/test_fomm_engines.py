"""FOMM inference engines on a tiny config: fast (Paddle Inference) == dygraph, export cache."""
from __future__ import annotations

import copy

import numpy as np
import paddle
import pytest

from ppgan_app.inference import build_engine
from ppgan_app.inference import export as export_mod
from ppgan_app.inference.rewrites import DeconvUpBlock, deconv_kernel_from_up2_conv, rewritten_copy
from ppgan_app.models.firstorder import (build_fomm_networks, load_fomm_config,
                                        randomize_fomm_weights)
from ppgan_app.models.firstorder.blocks import UpBlock2d

TOL = 1e-4
SIZE = 64
TINY = load_fomm_config("firstorder_tiny_64")


def randomize(layer: paddle.nn.Layer, seed: int) -> None:
    randomize_fomm_weights(layer, np.random.default_rng(seed))


@pytest.fixture(scope="module")
def nets():
    kp_detector, generator = build_fomm_networks(TINY, inference=True)
    randomize(kp_detector, 1)
    randomize(generator, 2)
    return kp_detector, generator


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    source = rng.uniform(0, 1, (1, 3, SIZE, SIZE)).astype("float32")
    driving = rng.uniform(0, 1, (4, 3, SIZE, SIZE)).astype("float32")
    return source, driving


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("exports")


@pytest.fixture(scope="module")
def fast(nets, cache_dir):
    return build_engine("fast", *nets, cache_dir=cache_dir, threads=2, config=TINY)


def _animate(engine, source, driving):
    kp_s = engine.kp_detector(source)
    kp_d = engine.kp_detector(driving)
    return kp_s, kp_d, engine.generator(source, kp_s, kp_d)


def _max_diff(a, b) -> float:
    return float(np.abs(np.asarray(a) - np.asarray(b)).max())


def test_deconv_kernel_equals_upsample_then_conv():
    paddle.seed(0)
    block = UpBlock2d(6, 5)
    block.eval()
    x = paddle.rand([2, 6, 7, 9])
    with paddle.no_grad():
        assert _max_diff(DeconvUpBlock(block)(x).numpy(), block(x).numpy()) < 1e-5
    with pytest.raises(ValueError):
        deconv_kernel_from_up2_conv(np.zeros((2, 2, 5, 5)))


def test_rewritten_copy_leaves_original_alone(nets):
    _, generator = nets
    clone = rewritten_copy(generator)
    assert isinstance(clone.up_blocks[0], DeconvUpBlock)
    assert isinstance(generator.up_blocks[0], UpBlock2d)


def test_fast_equals_dygraph(nets, images, fast):
    dygraph = build_engine("dygraph", *nets)
    source, driving = images
    expected = _animate(dygraph, source, driving)
    got = _animate(fast, source, driving)
    for kp_exp, kp_got in zip(expected[:2], got[:2]):
        assert set(kp_got) == {"value", "jacobian"}
        for key in kp_exp:
            assert _max_diff(kp_got[key].numpy(), kp_exp[key].numpy()) <= TOL
    assert tuple(got[2].shape) == (4, 3, SIZE, SIZE)
    assert _max_diff(got[2].numpy(), expected[2].numpy()) <= TOL


def test_fast_batch_and_source_cache(nets, images, fast):
    source, driving = images
    kp_s = fast.kp_detector(source)
    kp_d = fast.kp_detector(driving)
    batch = fast.generator(source, kp_s, kp_d).numpy()
    single = [fast.generator(source, kp_s, {k: v[i:i + 1] for k, v in kp_d.items()}).numpy()
              for i in range(driving.shape[0])]
    assert _max_diff(batch, np.concatenate(single)) <= TOL
    other = np.ascontiguousarray(source[:, :, ::-1])       # a new source must not reuse the cache
    dygraph = build_engine("dygraph", *nets)
    kp_o = dygraph.kp_detector(other)
    expected = dygraph.generator(other, kp_o, kp_d).numpy()
    assert _max_diff(fast.generator(other, kp_o, kp_d).numpy(), expected) <= TOL


def test_dygraph_batch_of_4_equals_4_single_frames(nets, images):
    engine = build_engine("dygraph", *nets)
    source, driving = images
    kp_s, kp_d, batch = _animate(engine, source, driving)
    for i in range(driving.shape[0]):
        kp_i = engine.kp_detector(driving[i:i + 1])
        assert _max_diff(kp_i["value"].numpy(), kp_d["value"][i:i + 1].numpy()) <= 1e-5
        single = engine.generator(source, kp_s, kp_i)
        assert _max_diff(single.numpy(), batch[i:i + 1].numpy()) <= 1e-5


def test_export_cache_hit_skips_export(nets, images, fast, cache_dir, monkeypatch):
    source, _ = images
    fast.kp_detector(source)                        # make sure the first export exists
    exports = [p for p in cache_dir.iterdir() if p.name.startswith("fomm_")]
    assert len(exports) == 1 and not [p for p in cache_dir.iterdir() if p.name.startswith(".")]

    def no_export(*args, **kwargs):
        raise AssertionError("export ran on a cache hit")

    monkeypatch.setattr(export_mod, "write_export", no_export)
    again = build_engine("fast", *nets, cache_dir=cache_dir, threads=1, config=TINY)
    assert again.kp_detector(source)["value"].shape == [1, 4, 2]


def test_partial_export_is_not_a_cache_hit(nets, tmp_path, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash during export")

    monkeypatch.setattr(export_mod, "write_export", crash)
    with pytest.raises(RuntimeError):
        export_mod.export_fomm(*nets, tmp_path, (SIZE, SIZE), config=TINY)
    assert list(tmp_path.iterdir()) == []


def test_cache_key_tracks_weights_config_and_size(nets):
    kp_detector, generator = nets
    key = export_mod.export_key(kp_detector, generator, (SIZE, SIZE), TINY)
    assert key == export_mod.export_key(kp_detector, generator, (SIZE, SIZE), TINY)
    assert key != export_mod.export_key(kp_detector, generator, (2 * SIZE, 2 * SIZE), TINY)
    assert key != export_mod.export_key(kp_detector, generator, (SIZE, SIZE), {"other": 1})
    weight = generator.final.bias
    saved = weight.numpy().copy()
    try:
        weight.set_value(saved + 1e-3)
        assert key != export_mod.export_key(kp_detector, generator, (SIZE, SIZE), TINY)
    finally:
        weight.set_value(saved)
    generator.train()                              # the mode is not part of the key
    try:
        assert key == export_mod.export_key(kp_detector, generator, (SIZE, SIZE), TINY)
    finally:
        generator.eval()
    generator.inference = False                    # a hyper-parameter outside the weights
    try:
        assert key != export_mod.export_key(kp_detector, generator, (SIZE, SIZE), TINY)
    finally:
        generator.inference = True


def test_build_engine_rejects_bad_arguments(nets):
    with pytest.raises(ValueError, match="unknown engine"):
        build_engine("onnx", *nets)
    with pytest.raises(ValueError, match="cache_dir"):
        build_engine("fast", *nets)
    with pytest.raises(ValueError, match="precision"):
        build_engine("fast", *nets, cache_dir="unused", precision="int8")


def test_fast_engine_without_jacobians(tmp_path):
    """A detector without jacobians: the exported generator gets identity matrices (exact)."""
    config = copy.deepcopy(TINY)
    config["model"]["common_params"]["estimate_jacobian"] = False
    kp_detector, generator = build_fomm_networks(config, inference=True)
    randomize(kp_detector, 3)
    randomize(generator, 4)
    rng = np.random.default_rng(1)
    source = rng.uniform(0, 1, (1, 3, SIZE, SIZE)).astype("float32")
    driving = rng.uniform(0, 1, (2, 3, SIZE, SIZE)).astype("float32")
    expected = _animate(build_engine("dygraph", kp_detector, generator), source, driving)
    got = _animate(build_engine("fast", kp_detector, generator, cache_dir=tmp_path, threads=1),
                   source, driving)
    assert set(got[1]) == {"value"}
    assert _max_diff(got[1]["value"].numpy(), expected[1]["value"].numpy()) <= TOL
    assert _max_diff(got[2].numpy(), expected[2].numpy()) <= TOL


def _run_in_threads(engines, source, kp_s, kp_d, rounds=3):
    """Each engine animates ``rounds`` times in its own thread, all at once."""
    import threading

    results = {}

    def work(i, engine):
        results[i] = [engine.generator(source, kp_s, kp_d).numpy() for _ in range(rounds)]

    threads = [threading.Thread(target=work, args=(i, e)) for i, e in enumerate(engines)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [results[i] for i in range(len(engines))]


def test_twins_run_at_once_and_give_the_same_frames(nets, images, fast):
    source, driving = images
    kp_s, kp_d, want = _animate(fast, source, driving)
    twin = fast.twin()
    assert twin is not None and twin is not fast and twin.source_cache is fast.source_cache
    for frames in _run_in_threads([fast, twin], source, kp_s, kp_d):
        assert all(_max_diff(frame, want.numpy()) == 0.0 for frame in frames)
    assert build_engine("dygraph", *nets).twin() is None        # one thread only
    fresh = build_engine("fast", *nets, cache_dir=fast.cache_dir, threads=1, config=TINY)
    assert fresh.twin() is None                                  # nothing loaded yet
