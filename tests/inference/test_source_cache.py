"""The per-source cache: one entry per face, LRU, never another image's value."""
from __future__ import annotations

import numpy as np
import pytest

from ppgan_app.inference import build_engine
from ppgan_app.inference.source_cache import SourceCache
from ppgan_app.models.firstorder import (build_fomm_networks, load_fomm_config,
                                        randomize_fomm_weights)

SIZE = 64
TINY = load_fomm_config("firstorder_tiny_64")


def test_cache_keeps_one_entry_per_source_and_drops_the_oldest():
    calls = []

    def compute(image):
        calls.append(float(image.sum()))
        return image * 2

    cache = SourceCache(max_entries=2)
    a, b, c = (np.full((1, 3, 4, 4), v, dtype=np.float32) for v in (1, 2, 3))
    for image in (a, b, a, b, a):
        np.testing.assert_array_equal(cache.get(image, compute), image * 2)
    assert calls == [48.0, 96.0] and (cache.hits, cache.misses) == (3, 2)
    cache.get(c, compute)                 # evicts b, the least recently used
    cache.get(a, compute)
    cache.get(b, compute)
    assert calls == [48.0, 96.0, 144.0, 96.0] and len(cache) == 2
    with pytest.raises(ValueError):
        SourceCache(0)


def test_cache_distinguishes_shape_and_content():
    cache = SourceCache()
    flat = np.zeros((1, 3, 4, 4), dtype=np.float32)
    assert cache.get(flat, lambda x: np.array([1])) == 1
    assert cache.get(flat.reshape(1, 3, 2, 8), lambda x: np.array([2])) == 2
    changed = flat.copy()
    changed[0, 0, 0, 0] = 1e-7
    assert cache.get(changed, lambda x: np.array([3])) == 3
    assert cache.get(flat, lambda x: np.array([4])) == 1


def test_fast_engine_two_faces_get_their_own_frames(tmp_path):
    kp_detector, generator = build_fomm_networks(TINY, inference=True)
    randomize_fomm_weights(kp_detector, np.random.default_rng(1))
    randomize_fomm_weights(generator, np.random.default_rng(2))
    rng = np.random.default_rng(0)
    faces = [rng.uniform(0, 1, (1, 3, SIZE, SIZE)).astype("float32") for _ in range(2)]
    driving = rng.uniform(0, 1, (3, 3, SIZE, SIZE)).astype("float32")
    dygraph = build_engine("dygraph", kp_detector, generator)
    fast = build_engine("fast", kp_detector, generator, cache_dir=tmp_path, threads=1,
                        config=TINY)
    kp_faces = [dygraph.kp_detector(face) for face in faces]
    for i in range(3):                                  # face 1, face 2, face 1, ...
        kp_d = dygraph.kp_detector(driving[i:i + 1])
        for face, kp_s in zip(faces, kp_faces):
            expected = dygraph.generator(face, kp_s, kp_d).numpy()
            got = fast.generator(face, kp_s, kp_d).numpy()
            assert np.abs(got - expected).max() <= 1e-5
    assert (fast.source_cache.misses, fast.source_cache.hits) == (2, 4)
