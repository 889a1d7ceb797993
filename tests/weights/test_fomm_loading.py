"""load_fomm: one loading path for every kind of FOMM checkpoint (PaddleGAN's files, this kit's
training checkpoints, distillation stages with and without ``nets_generator``)."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import paddle
import pytest
import yaml

from ppgan_app.engine.checkpoint import save_checkpoint, training_state
from ppgan_app.errors import CheckpointError, CheckpointMismatchError
from ppgan_app.models.firstorder import build_fomm_networks
from ppgan_app.registries import MODELS
from ppgan_app.utils.registry import build_from_config
from ppgan_app.weights.fomm import load_fomm
from ppgan_app.weights.reader import load_pretrained

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fomm"
TINY_TRAIN = yaml.safe_load((FIXTURES / "tiny_train.yaml").read_text())
STUDENT = json.loads((FIXTURES / "tiny_student.json").read_text())   # mobile nets


def assert_loaded(loaded, states) -> None:
    for name in ("kp_detector", "generator"):
        net = getattr(loaded, name)
        for key, value in states[name].items():
            np.testing.assert_array_equal(net.state_dict()[key].numpy(), np.asarray(value))


def kit_checkpoint(path: Path) -> Path:
    """A random-weight checkpoint of the tiny training config, written by the engine."""
    cfg = copy.deepcopy(TINY_TRAIN)
    paddle.seed(1)
    model = build_from_config(copy.deepcopy(cfg["model"]), MODELS)
    return save_checkpoint(training_state(model, 0, cfg), path)


def stage_state(tmp_path: Path, mode: str) -> dict:
    """A distillation stage's training state (teacher: the tiny training config's nets)."""
    teacher_cfg = {"model": TINY_TRAIN["model"]}
    paddle.seed(2)
    kp_detector, generator = build_fomm_networks(teacher_cfg)
    teacher = tmp_path / "teacher.pdparams"
    paddle.save({"kp_detector": kp_detector.state_dict(), "generator": generator.state_dict()},
                str(teacher))
    model_cfg = {**copy.deepcopy(TINY_TRAIN["model"]), "name": "FirstOrderModelMobile",
                 "mode": mode, "teacher_weights": str(teacher),
                 "generator_ori": copy.deepcopy(TINY_TRAIN["model"]["generator"]),
                 "generator": copy.deepcopy(STUDENT)}
    model = build_from_config(copy.deepcopy(model_cfg), MODELS)
    load_pretrained(model)
    return training_state(model, 0, {**copy.deepcopy(TINY_TRAIN), "model": model_cfg})


def test_paddlegan_file_with_config(tmp_path):
    weights = FIXTURES / "tiny_weights.pdparams"
    config = json.loads((FIXTURES / "tiny_config.json").read_text())
    loaded = load_fomm(str(weights), config, image_size=64)
    assert loaded.image_size == 64 and loaded.path == weights
    assert_loaded(loaded, paddle.load(str(weights)))


def test_kit_checkpoint_alone_rebuilds_its_architecture_and_size(tmp_path):
    ckpt = kit_checkpoint(tmp_path / "ckpt.pdparams")
    loaded = load_fomm(str(ckpt))
    assert loaded.image_size == 32                                # dataset.train.frame_shape
    assert loaded.config["model"]["common_params"]["num_kp"] == 4
    assert_loaded(loaded, paddle.load(str(ckpt))["nets"])


def test_file_without_config_needs_one_when_required(tmp_path):
    weights = FIXTURES / "tiny_weights.pdparams"
    with pytest.raises(CheckpointError, match="carries no config.*--config"):
        load_fomm(str(weights), require_config=True)


@pytest.mark.parametrize("mode", ["kp_detector", "generator"])
def test_stage_checkpoint_with_and_without_nets_generator(tmp_path, mode):
    state = stage_state(tmp_path, mode)
    assert "nets_generator" in state["config"]                  # written by the model itself
    assert_loaded(load_fomm(state), state["nets"])
    # a reader needs neither the model's name nor its distillation fields
    renamed = {**state, "config": {**state["config"], "model": {
        k: v for k, v in state["config"]["model"].items() if k not in ("generator_ori", "mode")}}}
    renamed["config"]["model"]["name"] = "SomethingElse"
    assert_loaded(load_fomm(renamed), state["nets"])
    # stage checkpoints written before the field still load (their config says enough)
    old = {**state, "config": {k: v for k, v in state["config"].items() if k != "nets_generator"}}
    assert_loaded(load_fomm(old), state["nets"])


def test_mismatch_names_the_first_differing_key(tmp_path):
    ckpt = kit_checkpoint(tmp_path / "ckpt.pdparams")
    state = paddle.load(str(ckpt))
    key = sorted(state["nets"]["generator"])[0]
    state["nets"]["generator"][key] = np.zeros([1, 2, 3], "float32")
    with pytest.raises(CheckpointMismatchError) as info:
        load_fomm(state)
    message = str(info.value)
    assert "\n" not in message
    assert f"1 mismatched key(s), first generator: mis-shaped {key}: checkpoint [1, 2, 3]" in message
    assert "(0 missing and 0 unexpected keys, 1 wrong shapes)" in message
