"""SRPairsDataset: pair shapes and ranges, the bicubic relation, degradation, test mode, errors."""
from __future__ import annotations

import numpy as np
import pytest

from ppgan_app.datasets.sr_pairs import SRPairsDataset, degrade, downscale, mod_crop
from ppgan_app.errors import ConfigError, InputError
from ppgan_app.registries import DATASETS


def test_train_pairs_are_crops_and_their_bicubic_downscale(sr_pictures):
    np.random.seed(0)
    data = SRPairsDataset(str(sr_pictures), scale=4, gt_size=32, crops_per_image=3)
    assert len(data) == 4 * 3
    item = data[5]
    assert item["gt"].shape == (3, 32, 32) and item["lq"].shape == (3, 8, 8)
    assert item["gt"].dtype == np.float32 and 0.0 <= item["gt"].min() and item["gt"].max() <= 1.0
    gt_u8 = np.rint(item["gt"].transpose(1, 2, 0) * 255).astype(np.uint8)
    expected = downscale(gt_u8, 4).transpose(2, 0, 1) / 255.0
    np.testing.assert_allclose(item["lq"], expected, atol=1e-6)


def test_random_crops_follow_numpys_seed(sr_pictures):
    data = SRPairsDataset(str(sr_pictures), scale=2, gt_size=16)
    np.random.seed(3)
    first = data[0]["gt"]
    np.random.seed(3)
    assert np.array_equal(first, data[0]["gt"])
    assert not np.array_equal(first, data[0]["gt"])  # the next draw is another crop


def test_test_mode_is_deterministic_centre_crop(sr_pictures):
    data = SRPairsDataset(str(sr_pictures), scale=4, mode="test", gt_size=64, crops_per_image=9)
    assert len(data) == 4
    a, b = data[1], data[1]
    assert np.array_equal(a["lq"], b["lq"]) and a["gt"].shape == (3, 64, 64)
    whole = SRPairsDataset(str(sr_pictures), scale=4, mode="test", gt_size=None)[0]
    assert whole["gt"].shape[1] % 4 == 0 and whole["gt"].shape[1] == 4 * whole["lq"].shape[1]


def test_degradation_keeps_shapes_and_changes_pixels(sr_pictures):
    cfg = {"blur_prob": 1.0, "blur_sigma": [1.0, 1.5], "noise_prob": 1.0, "noise_sigma": [5, 10],
           "jpeg_prob": 1.0, "jpeg_quality": [30, 40]}
    data = SRPairsDataset(str(sr_pictures), scale=4, mode="test", gt_size=64, degradation=cfg)
    plain = SRPairsDataset(str(sr_pictures), scale=4, mode="test", gt_size=64)
    assert data[0]["lq"].shape == plain[0]["lq"].shape == (3, 16, 16)
    assert np.abs(data[0]["lq"] - plain[0]["lq"]).mean() > 0.01
    hr = (np.random.RandomState(0).rand(40, 40, 3) * 255).astype(np.uint8)
    assert np.array_equal(degrade(hr, 4, {}, np.random.RandomState(1)), downscale(hr, 4))


def test_mod_crop():
    assert mod_crop(np.zeros((10, 13, 3)), 4).shape == (8, 12, 3)


@pytest.mark.parametrize("kwargs, match", [
    ({"gt_size": 30}, "multiple of scale"),
    ({"mode": "val"}, "mode"),
    ({"degradation": {"blur": 1}}, "unknown degradation"),
    ({"gt_size": None}, "needs gt_size"),
])
def test_bad_settings_fail_at_build(sr_pictures, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        SRPairsDataset(str(sr_pictures), **{"scale": 4, **kwargs})


def test_missing_folder_and_small_pictures(tmp_path, sr_pictures):
    with pytest.raises(InputError, match="does not exist"):
        SRPairsDataset(str(tmp_path / "nowhere"))
    with pytest.raises(InputError, match="smaller than gt_size"):
        SRPairsDataset(str(sr_pictures), gt_size=512)[0]
    assert DATASETS.get("SRPairsDataset") is SRPairsDataset
