"""Loading FOMM checkpoints: accepted layouts and the one error for a mismatch."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import paddle
import pytest

from ppgan_app.errors import CheckpointMismatchError
from ppgan_app.models.firstorder import build_fomm_networks
from ppgan_app.weights.fomm import load_fomm_checkpoint

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "fomm"


@pytest.fixture()
def tiny_nets():
    config = json.loads((FIXTURES / "tiny_config.json").read_text())
    return build_fomm_networks(config)


@pytest.fixture(scope="module")
def tiny_weights():
    return paddle.load(str(FIXTURES / "tiny_weights.pdparams"))


def test_paddlegan_layout_loads(tiny_nets, tiny_weights):
    kp_detector, generator = tiny_nets
    load_fomm_checkpoint(tiny_weights, kp_detector, generator)
    key = "predictor.encoder.down_blocks.0.conv.weight"
    np.testing.assert_array_equal(kp_detector.state_dict()[key].numpy(),
                                  np.asarray(tiny_weights["kp_detector"][key]))


def test_kit_training_layout_loads(tiny_nets, tiny_weights):
    kp_detector, generator = tiny_nets
    load_fomm_checkpoint({"nets": dict(tiny_weights, discriminator={}), "iter": 3},
                         kp_detector, generator)


def test_mismatch_lists_missing_unexpected_and_misshaped_keys(tiny_nets, tiny_weights):
    kp_detector, generator = tiny_nets
    kp_state = dict(tiny_weights["kp_detector"])
    gen_state = dict(tiny_weights["generator"])
    del kp_state["kp.weight"]
    kp_state["extra.weight"] = np.zeros([1], "float32")
    gen_state["final.weight"] = np.zeros([3, 1, 7, 7], "float32")
    before = generator.state_dict()["final.weight"].numpy().copy()
    with pytest.raises(CheckpointMismatchError) as info:
        load_fomm_checkpoint({"kp_detector": kp_state, "generator": gen_state},
                             kp_detector, generator)
    message = str(info.value)
    assert "\n" not in message and "3 mismatched key(s), first kp_detector: missing kp.weight" in message
    assert info.value.details == [
        "kp_detector: missing kp.weight", "kp_detector: unexpected extra.weight",
        "generator: mis-shaped final.weight: checkpoint [3, 1, 7, 7] vs network [3, 8, 7, 7]"]
    np.testing.assert_array_equal(generator.state_dict()["final.weight"].numpy(), before)


def test_full_config_rejects_tiny_checkpoint(tiny_weights):
    kp_detector, generator = build_fomm_networks("firstorder_vox_mobile_256")
    with pytest.raises(CheckpointMismatchError, match="mismatched key") as info:
        load_fomm_checkpoint(tiny_weights, kp_detector, generator)
    assert any("mis-shaped" in line for line in info.value.details)


def test_checkpoint_without_nets_is_rejected(tiny_nets):
    with pytest.raises(CheckpointMismatchError, match="generator"):
        load_fomm_checkpoint({"kp_detector": {}}, *tiny_nets)
