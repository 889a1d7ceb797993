"""GPEN and FaceEnhancer: parity with PaddleGAN's code, key/shape list, enhancer I/O, errors.

Fixtures come from tests/fixtures/make_gpen_fixtures.py (PaddleGAN 2.1.0's own GPEN code on
seeded random weights, which are rebuilt here from the seed). The full-size (512) comparison
takes about a minute of CPU: it runs only with PPGAN_APP_FULL_GPEN=1.
"""
from __future__ import annotations

import importlib.util
import json
import os
import pickle
import urllib.error
from pathlib import Path

import cv2
import numpy as np
import paddle
import pytest

from ppgan_app.errors import CheckpointError, InputError, WeightsUnavailableError
from ppgan_app.faces.enhancement import GPEN, FaceEnhancer
from ppgan_app.faces.enhancement.enhancer import feather_mask
from ppgan_app.utils import download

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GPEN_FIXTURES = FIXTURES / "gpen"
TOL = 1e-4
TINY_ARCH = {"size": 64, "style_dim": 16, "n_mlp": 2, "channel_divisor": 32}


def _maker():
    """tests/fixtures/make_gpen_fixtures.py as a module (for seeded_gpen_state only)."""
    spec = importlib.util.spec_from_file_location("make_gpen_fixtures",
                                                  FIXTURES / "make_gpen_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _shapes(net: paddle.nn.Layer) -> dict:
    return {k: [int(d) for d in v.shape] for k, v in net.state_dict().items()}


def _seeded_gpen(arch: dict) -> GPEN:
    net = GPEN(arch["size"], arch["style_dim"], arch["n_mlp"])
    state = dict(net.state_dict())          # keeps the fixed up-sampling kernels
    state.update(_maker().seeded_gpen_state(_shapes(net), arch["seed"]))
    net.set_state_dict(state)
    net.eval()
    return net


def _run(net: GPEN, faces_u8: np.ndarray) -> np.ndarray:
    with paddle.no_grad():
        return net(paddle.to_tensor(_maker().to_net_input(faces_u8))).numpy()


# --- parity with PaddleGAN ----------------------------------------------------------------
def test_tiny_gpen_matches_paddlegan():
    arch = json.loads((GPEN_FIXTURES / "tiny_config.json").read_text())
    data = np.load(GPEN_FIXTURES / "tiny_io.npz")
    out = _run(_seeded_gpen(arch), data["faces_u8"])
    assert out.shape == data["output"].shape == (2, 3, arch["size"], arch["size"])
    assert float(np.abs(data["output"]).max()) > 0.5            # a non-trivial reference
    diff = float(np.abs(out - data["output"]).max())
    assert diff <= TOL, f"max abs diff {diff}"


def test_full_512_keys_and_shapes_equal_paddlegan():
    expected = json.loads((GPEN_FIXTURES / "keys_gpen512.json").read_text())
    with paddle.LazyGuard():
        net = GPEN(512, 512, 8)
    assert _shapes(net) == expected
    assert len(expected) > 100


@pytest.mark.skipif(os.environ.get("PPGAN_APP_FULL_GPEN") != "1",
                    reason="full 512 GPEN takes about a minute of CPU; set PPGAN_APP_FULL_GPEN=1")
def test_full_512_gpen_matches_paddlegan():
    report = json.loads((GPEN_FIXTURES / "full512.json").read_text())
    data = np.load(GPEN_FIXTURES / "full512_io.npz")
    out = _run(_seeded_gpen(report["arch"]), data["face_u8"])[:, :, ::8, ::8]
    diff = float(np.abs(out - data["output_every8"]).max())
    assert diff <= 1e-3, f"max abs diff {diff}"


# --- the enhancer on a tiny random GPEN -----------------------------------------------------
@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory) -> Path:
    paddle.seed(3)
    net = GPEN(**TINY_ARCH)
    with paddle.no_grad():
        for name, param in net.named_parameters():      # non-zero feature injection
            if name.endswith("noise.weight"):
                param.set_value(paddle.full([1], 0.5))
    path = tmp_path_factory.mktemp("gpen") / "tiny_gpen.pdparams"
    paddle.save(net.state_dict(), str(path))
    return path


@pytest.fixture(scope="module")
def enhancer(tiny_weights) -> FaceEnhancer:
    return FaceEnhancer(weight_path=tiny_weights, batch_size=2, **TINY_ARCH)


def _faces(n: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    """Smooth random colour images (low-frequency, like a face crop): ``[n, h, w, 3]`` uint8."""
    rng = np.random.default_rng(seed)
    low = rng.uniform(40, 215, (n, 4, 4, 3)).astype(np.float32)
    return np.stack([cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
                     for img in low]).round().astype(np.uint8)


@pytest.mark.parametrize("side", [64, 48, 100])
def test_enhance_keeps_shape_and_blends_with_a_feathered_border(enhancer, side):
    crops = _faces(3, side, side)
    out = enhancer.enhance(crops)
    assert out.shape == crops.shape and out.dtype == np.uint8
    diff = np.abs(out.astype(int) - crops.astype(int))
    assert diff[:, 0, 0].max() <= 255 * 0.05                       # mask < 0.05 at the corners
    centre = slice(side // 2 - side // 8, side // 2 + side // 8)
    assert diff[:, centre, centre].mean() > 5                     # the network's pixels inside


def test_enhance_batches_equal_single_crops(enhancer):
    crops = _faces(3, 64, 64, seed=1)
    batched = enhancer.enhance(crops)                              # chunks of 2 + 1
    single = np.concatenate([enhancer.enhance(crops[i:i + 1]) for i in range(3)])
    assert np.abs(batched.astype(int) - single.astype(int)).max() <= 1


def test_enhance_non_square_keeps_the_sides(enhancer):
    crops = _faces(1, 64, 90, seed=2)
    out = enhancer.enhance(crops)
    assert out.shape == crops.shape
    np.testing.assert_array_equal(out[:, :, :13], crops[:, :, :13])
    np.testing.assert_array_equal(out[:, :, 77:], crops[:, :, 77:])
    assert (out[:, :, 13:77] != crops[:, :, 13:77]).any()


def test_enhance_empty_batch(enhancer):
    out = enhancer.enhance(np.zeros((0, 64, 64, 3), np.uint8))
    assert out.shape == (0, 64, 64, 3)


def test_restore_is_the_clipped_network_output(enhancer):
    faces = _faces(2, 64, 64, seed=3)
    restored = enhancer.restore(faces)
    with paddle.no_grad():
        raw = enhancer.net(paddle.to_tensor(_maker().to_net_input(faces))).numpy()
    expected = np.clip(raw * 0.5 + 0.5, 0, 1).transpose(0, 2, 3, 1) * 255
    assert restored.dtype == np.uint8
    assert np.abs(restored - expected).max() <= 0.5 + 1e-3


def test_feather_mask_is_paddlegans_shape_at_512():
    mask = feather_mask(512)
    assert mask.shape == (512, 512) and mask.dtype == np.float32
    assert mask[256, 256] == pytest.approx(1.0, abs=1e-6)
    assert mask[0, 0] < 0.02 and 0.0 <= mask.min() and mask.max() <= 1.0 + 1e-6
    assert mask[256, 26] == pytest.approx(0.5, abs=0.05)         # the rectangle's edge


# --- errors ----------------------------------------------------------------------------------
@pytest.fixture
def offline_cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv(download.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(download, "_sleep", lambda seconds: None)

    def offline(url, timeout):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(download, "_open_url", offline)
    return tmp_path / "cache"


def test_missing_published_weights_name_url_cache_and_how_to_pass_a_file(offline_cache):
    with pytest.raises(WeightsUnavailableError) as info:
        FaceEnhancer()
    message = str(info.value)
    assert "\n" not in message
    assert download.WEIGHT_URLS["gpen-512"] in message
    assert str(offline_cache / "GPEN-512.pdparams") in message
    assert "weight_path" in message


def test_missing_local_weights_file(tmp_path):
    with pytest.raises(WeightsUnavailableError, match="does not exist"):
        FaceEnhancer(weight_path=tmp_path / "nope.pdparams", **TINY_ARCH)


def test_weights_that_do_not_fit_give_count_and_first_mismatch(tiny_weights):
    with pytest.raises(CheckpointError) as info:
        FaceEnhancer(weight_path=tiny_weights, size=32, style_dim=16, n_mlp=2, channel_divisor=32)
    message = str(info.value)
    assert "mismatched key(s), first:" in message and "\n" not in message
    count = int(message.split(" mismatched")[0].rsplit(" ", 1)[1])
    assert count > 0


def test_weights_may_lack_only_the_fixed_buffers(tiny_weights, tmp_path):
    state = paddle.load(str(tiny_weights))
    lean = {k: v for k, v in state.items() if ".noises." not in k and "upsample.kernel" not in k}
    assert len(lean) < len(state)
    paddle.save(lean, str(tmp_path / "lean.pdparams"))
    FaceEnhancer(weight_path=tmp_path / "lean.pdparams", **TINY_ARCH)     # loads
    del lean["generator.conv1.noise.weight"]
    paddle.save(lean, str(tmp_path / "short.pdparams"))
    with pytest.raises(CheckpointError, match="1 mismatched key.*missing generator.conv1.noise"):
        FaceEnhancer(weight_path=tmp_path / "short.pdparams", **TINY_ARCH)


@pytest.mark.parametrize("content", [b"not a pickle", pickle.dumps([1, 2, 3])])
def test_unreadable_or_non_dict_weights(tmp_path, content):
    path = tmp_path / "bad.pdparams"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="bad.pdparams"):
        FaceEnhancer(weight_path=path, **TINY_ARCH)


@pytest.mark.parametrize("crops", [
    np.zeros((1, 64, 64, 3), np.float32),          # not uint8
    np.zeros((64, 64, 3), np.uint8),               # no batch axis
    np.zeros((1, 64, 64, 4), np.uint8),            # RGBA
    [[0]],                                         # not an array
])
def test_bad_crops_are_input_errors(enhancer, crops):
    with pytest.raises(InputError):
        enhancer.enhance(crops)


def test_bad_options_are_input_errors(tiny_weights):
    with pytest.raises(InputError, match="batch_size"):
        FaceEnhancer(weight_path=tiny_weights, batch_size=0, **TINY_ARCH)
    with pytest.raises(InputError, match="power of two"):
        FaceEnhancer(weight_path=tiny_weights, size=48)
    with pytest.raises(InputError, match="weight_path"):
        FaceEnhancer(size=256)                     # no published weights for 256
