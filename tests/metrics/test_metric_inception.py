"""Inception FID/IS through the kit's weight resolver, with a random stand-in for PaddleGAN's file.

The stand-in has the keys and shapes of PaddleGAN's ``InceptionV3.pdparams`` (random weights),
placed in a temporary cache folder; the network is never touched (``_open_url`` refuses).
Inputs are resized to 75x75 instead of 299x299 to keep the tests fast (same layers).
"""
from pathlib import Path

import numpy as np
import paddle
import pytest

from ppgan_app.errors import CheckpointError, WeightsUnavailableError
from ppgan_app.metrics import inception
from ppgan_app.models.inception import FEATURE_DIM, FIDInceptionV3
from ppgan_app.registries import METRICS
from ppgan_app.utils import download
from ppgan_app.utils.registry import build_from_config


def _no_network(url, timeout):
    raise OSError(f"tests never touch the network ({url})")


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv(download.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(download, "_open_url", _no_network)
    monkeypatch.setattr(download, "_sleep", lambda seconds: None)
    return tmp_path / "cache"


SIDE = 75


@pytest.fixture(scope="module")
def stand_in() -> dict:
    return _stand_in_state()


def _stand_in_state(seed=0) -> dict:
    """Random weights in the file's layout: He-scaled convs, identity batch norms."""
    net = FIDInceptionV3()
    rng = np.random.default_rng(seed)
    state = {}
    for key, value in net.state_dict().items():
        shape = list(value.shape)
        if key.endswith("conv.weight"):
            state[key] = rng.normal(0, np.sqrt(2.0 / np.prod(shape[1:])), shape).astype("float32")
        elif key.endswith(("bn.weight", "_variance")):
            state[key] = np.ones(shape, "float32")
        else:
            state[key] = np.zeros(shape, "float32")
    return state


def _place(cache: Path, state: dict) -> Path:
    target = download.cached_path(inception.WEIGHTS_NAME)
    assert target.parent == cache and target.name == "InceptionV3.pdparams"
    cache.mkdir(parents=True, exist_ok=True)
    paddle.save(state, str(target))
    return target


def _images(n, seed, noise=0.0):
    rng = np.random.default_rng(seed)
    base = np.tile(np.linspace(-1, 1, 32, dtype=np.float32), (n, 1, 32, 1))
    return np.clip(base + rng.normal(0, 0.2 + noise, base.shape), -1, 1).astype(np.float32)


def test_fid_from_the_cached_stand_in(cache, stand_in):
    _place(cache, stand_in)
    net = inception.load_inception(input_size=SIDE)
    real, fake = _images(6, 0), _images(6, 1, noise=0.6)
    feats, probs = inception.inception_outputs(net, real)
    assert feats.shape == (6, FEATURE_DIM) and probs is None and (feats >= 0).all()
    figures = inception.inception_figures(net, fake, real)
    assert set(figures) == {"fid"} and figures["fid"] > 0  # no classifier in the file: no IS


def test_inception_score_when_the_file_has_a_classifier(cache, stand_in):
    rng = np.random.default_rng(0)
    fc = {"fc.weight": rng.normal(0, 0.05, [FEATURE_DIM, 12]).astype("float32"), "fc.bias": np.zeros([12], "float32")}
    _place(cache, {**stand_in, **fc, "AuxLogits.conv0.conv.weight": np.zeros([1], "float32")})
    metric = build_from_config({"name": "InceptionFID", "input_size": SIDE}, METRICS)  # the extra key is ignored
    assert metric.net.n_class == 12
    real = _images(6, 0)
    metric.update(real, real)
    assert abs(metric.accumulate()) < 1e-6 and 1.0 <= metric.last_figures["is"] <= 12.0


def test_inception_score_bounds():
    sure = np.eye(4)[np.arange(8) % 4]  # confident and balanced: IS = number of classes
    assert inception.inception_score(sure, splits=1)[0] == pytest.approx(4.0, rel=1e-6)
    assert inception.inception_score(np.full((8, 4), 0.25), splits=2)[0] == pytest.approx(1.0)


def test_missing_weights_one_line_error_and_warn_mode(cache):
    with pytest.raises(WeightsUnavailableError) as err:
        inception.load_inception()
    message = str(err.value)
    assert "\n" not in message and download.WEIGHT_URLS["inception-v3-fid"] in message
    assert str(download.cached_path("inception-v3-fid")) in message
    quiet = build_from_config({"name": "InceptionFID", "if_missing": "warn"}, METRICS)
    quiet.update(_images(2, 0), _images(2, 1))
    assert quiet.accumulate() is None


def test_wrong_file_is_refused(cache, stand_in):
    state = dict(stand_in)
    state["Mixed_5b.branch1x1.conv.weight"] = np.zeros([3, 3, 1, 1], "float32")
    del state["Mixed_7c.branch_pool.bn.bias"]
    _place(cache, state)
    with pytest.raises(CheckpointError, match="1 missing .*wrong shapes"):
        inception.load_inception()
