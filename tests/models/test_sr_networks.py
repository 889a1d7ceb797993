"""RRDBNet, PAN, VGGDiscriminator128: parity with PaddleGAN 2.1.0's network code and its key lists.

Fixtures come from tests/fixtures/make_sr_fixtures.py (PaddleGAN's own rrdb_net.py and pan.py
on seeded random weights, rebuilt here from the seed).
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import paddle
import pytest

from ppgan_app.errors import CheckpointError
from ppgan_app.models.discriminators.vgg_discriminator import VGGDiscriminator128
from ppgan_app.models.generators.pan import PAN
from ppgan_app.models.generators.rrdbnet import RRDBNet, pixel_unshuffle
from ppgan_app.registries import GENERATORS
from ppgan_app.weights.reader import load_strict

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SR = FIXTURES / "sr"
TOL = 1e-5
CLASSES = {"RRDBNet": RRDBNet, "PAN": PAN}


def _maker():
    spec = importlib.util.spec_from_file_location("make_sr_fixtures", FIXTURES / "make_sr_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _shapes(net: paddle.nn.Layer) -> dict:
    return {k: [int(d) for d in v.shape] for k, v in net.state_dict().items()}


@pytest.mark.parametrize("name", ["rrdbnet_x4", "rrdbnet_x2", "pan_x4", "pan_x2"])
def test_tiny_network_matches_paddlegan(name):
    cfg = json.loads((SR / "tiny_config.json").read_text())["nets"][name]
    io = np.load(SR / "tiny_io.npz")
    net = CLASSES[cfg["class"]](**cfg["kwargs"])
    load_strict(net, _maker().seeded_state(_shapes(net), cfg["seed"]), name)
    net.eval()
    with paddle.no_grad():
        out = net(paddle.to_tensor(io[f"{name}_input"])).numpy()
    expected = io[f"{name}_output"]
    assert out.shape == expected.shape
    assert np.abs(out - expected).max() <= TOL


@pytest.mark.parametrize("filename, net", [
    ("keys_rrdbnet_3_3_64_23.json", lambda: RRDBNet(3, 3, 64, 23)),
    ("keys_pan_x4.json", lambda: PAN(3, 3, 40, 24, 16, scale=4)),
])
def test_full_size_keys_and_shapes_are_paddlegans(filename, net):
    """Every key and shape of RealSR's RRDBNet(3,3,64,23) and pan_x4's PAN as PaddleGAN names them."""
    expected = json.loads((SR / filename).read_text())
    layer = net()
    assert _shapes(layer) == expected
    # a state dict with exactly PaddleGAN's keys loads strictly
    load_strict(layer, {k: np.zeros(s, "float32") for k, s in expected.items()}, filename)


def test_wrong_state_dict_is_refused_in_one_line():
    net = PAN(3, 3, 8, 6, 1, scale=4)
    state = {k: np.zeros(s, "float32") for k, s in _shapes(net).items()}
    state["conv_first.weight"] = np.zeros([9, 3, 3, 3], "float32")
    with pytest.raises(CheckpointError, match="wrong shapes") as err:
        load_strict(net, state, "pan weights")
    assert "\n" not in str(err.value)


def test_pixel_unshuffle_regroups_blocks():
    x = paddle.arange(2 * 3 * 4 * 6, dtype="float32").reshape([2, 3, 4, 6])
    y = pixel_unshuffle(x, 2)
    assert y.shape == [2, 12, 2, 3]
    # channel c*4 + i*2 + j holds pixel (2h + i, 2w + j) of channel c
    assert float(y[1, 2 * 4 + 1 * 2 + 0, 1, 2]) == float(x[1, 2, 3, 4])


def test_networks_are_registered_and_scale_is_checked():
    assert GENERATORS.get("PAN") is PAN and GENERATORS.get("RRDBNet") is RRDBNet
    with pytest.raises(ValueError, match="scale"):
        PAN(3, 3, 8, 6, 1, scale=5)
    with pytest.raises(ValueError, match="scale"):
        RRDBNet(3, 3, 8, 1, scale=3)


def test_vgg_discriminator_shapes():
    net = VGGDiscriminator128(3, 4, input_size=32)
    assert net(paddle.rand([2, 3, 32, 32])).shape == [2, 1]
    assert list(VGGDiscriminator128(3, 64).state_dict()["linear1.weight"].shape) == [64 * 8 * 16, 100]
    with pytest.raises(ValueError, match="32x32"):
        net(paddle.rand([1, 3, 64, 64]))
