"""FirstOrderModelMobile: PaddleGAN's distillation stages; only the students change."""
import copy
import json
from pathlib import Path

import numpy as np
import paddle
import pytest

from ppgan_app.errors import ConfigError
from ppgan_app.registries import MODELS
from ppgan_app.utils.registry import build_from_config
from ppgan_app.weights.reader import load_pretrained

from test_fomm_training import LR, SIZE, TINY_MODEL

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "fomm"
STUDENT = json.loads((FIXTURES / "tiny_student.json").read_text())   # mobile nets, narrower


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    paddle.seed(0)
    model = build_from_config(copy.deepcopy(TINY_MODEL), MODELS)
    path = tmp_path_factory.mktemp("teacher") / "teacher.pdparams"
    paddle.save({"nets": {k: v.state_dict() for k, v in model.nets.items()}}, str(path))
    return path, {k: {n: t.numpy().copy() for n, t in v.state_dict().items()}
                  for k, v in model.nets.items() if k != "discriminator"}


def mobile(teacher_path, mode, **extra):
    cfg = {k: copy.deepcopy(v) for k, v in TINY_MODEL.items() if k not in ("name", "generator")}
    weights = extra.pop("loss_weights", {})
    cfg.update(name="FirstOrderModelMobile", mode=mode, teacher_weights=str(teacher_path),
               generator_ori=copy.deepcopy(TINY_MODEL["generator"]), generator=copy.deepcopy(STUDENT),
               **extra)
    cfg["train_params"]["loss_weights"].update(generator_gan=0, distillation=1,
                                               distillation_keypoints=1)
    cfg["train_params"]["loss_weights"].update(weights)
    model = build_from_config(cfg, MODELS)
    load_pretrained(model)        # the teacher (and stage checkpoints): the caller loads them
    return model


def snapshot(model):
    return {k: {n: t.numpy().copy() for n, t in v.state_dict().items()} for k, v in model.nets.items()}


def step(model):
    model.setup_optimizers(LR, {"name": "Adam"})
    model.train()
    before = snapshot(model)
    rng = np.random.default_rng(0)
    model.setup_input({k: paddle.to_tensor(rng.uniform(0, 1, (2, 3, SIZE, SIZE)).astype("float32"))
                       for k in ("source", "driving")})
    model.train_iter(model.optimizers)
    after = snapshot(model)
    changed = {k for k in after if any(not np.array_equal(after[k][n], before[k][n]) for n in after[k])}
    return before, changed


@pytest.mark.parametrize("mode,student,frozen", [("kp_detector", "kp_detector", "generator"),
                                                 ("generator", "generator", "kp_detector")])
def test_a_stage_trains_only_its_student(teacher, mode, student, frozen, tmp_path):
    path, teacher_state = teacher
    model = mobile(path, mode)
    before, changed = step(model)
    assert changed == {student}, changed                       # frozen half and discriminator kept
    for name, value in teacher_state[frozen].items():          # the frozen half is the teacher's
        np.testing.assert_array_equal(before[frozen][name], value)
    for name, value in model.teacher_kp.state_dict().items():  # the teacher itself never moves
        np.testing.assert_array_equal(value.numpy(), teacher_state["kp_detector"][name])
    assert np.isfinite(model.losses["distillation"]) and model.losses["distillation"] > 0
    if mode == "kp_detector":     # the student's keypoints are pulled to the teacher's
        value = model.losses["distillation_keypoints"]
        assert np.isfinite(value) and value > 0
    else:                         # the keypoints are the teacher's: nothing to distil
        assert "distillation_keypoints" not in model.losses
    assert set(model.optimizers) == {"optimizer_Dis",
                                     "optimizer_KP" if mode == "kp_detector" else "optimizer_Gen"}
    student_params = sum(int(np.prod(p.shape)) for p in model.nets[student].parameters())
    teacher_net = model.teacher_kp if student == "kp_detector" else model.teacher_gen
    assert student_params < sum(int(np.prod(p.shape)) for p in teacher_net.parameters())
    paddle.save({"nets": {k: v.state_dict() for k, v in model.nets.items()}},
                str(tmp_path.parent / f"stage_{mode}.pdparams"))


def test_both_stage_starts_from_the_stage_checkpoints(teacher, tmp_path):
    path, _ = teacher
    stages = {}
    for mode in ("kp_detector", "generator"):
        model = mobile(path, mode)
        step(model)
        stages[mode] = tmp_path / f"{mode}.pdparams"
        paddle.save({"nets": {k: v.state_dict() for k, v in model.nets.items()}}, str(stages[mode]))
        stages[mode + "_state"] = snapshot(model)[mode]
    model = mobile(path, "both", kp_weight_path=str(stages["kp_detector"]),
                   gen_weight_path=str(stages["generator"]))
    loaded = snapshot(model)
    for name in ("kp_detector", "generator"):
        for key, value in stages[name + "_state"].items():
            np.testing.assert_array_equal(loaded[name][key], value)
    _, changed = step(model)
    assert changed == {"kp_detector", "generator"}
    fresh = snapshot(mobile(path, "both", kp_weight_path=str(stages["kp_detector"])))
    for key, value in stages["kp_detector_state"].items():     # the generator stage is optional
        np.testing.assert_array_equal(fresh["kp_detector"][key], value)
    assert any(not np.array_equal(fresh["generator"][k], v)
               for k, v in stages["generator_state"].items())
    with pytest.raises(ConfigError, match="mode"):
        mobile(path, "everything")


def test_stage_checkpoints_describe_the_nets_they_hold(teacher, tmp_path):
    from ppgan_app.engine.checkpoint import training_state
    from ppgan_app.weights.fomm import load_fomm
    path, _ = teacher
    for mode in ("kp_detector", "generator"):
        model = mobile(path, mode)
        model.setup_optimizers(LR, {"name": "Adam"})
        cfg = {"model": {**{k: v for k, v in TINY_MODEL.items() if k != "generator"},
                         "name": "FirstOrderModelMobile", "mode": mode,
                         "generator_ori": TINY_MODEL["generator"], "generator": STUDENT}}
        state = training_state(model, 0, cfg)
        load_fomm(state, require_config=True)      # its own config; strict: shapes must fit


def test_distillation_losses_pull_the_student_towards_the_teacher(teacher):
    """Keypoint and frame distillation alone (no FOMM loss): a few steps of the kp_detector
    stage lower the keypoint gap to the teacher, and the losses equal their definitions."""
    path, _ = teacher
    model = mobile(path, "kp_detector", loss_weights={
        "perceptual": [0] * 5, "equivariance_value": 0, "equivariance_jacobian": 0,
        "distillation": 0, "distillation_keypoints": 1})
    model.setup_optimizers({**LR, "lr_kp_detector": 1e-2}, {"name": "Adam"})
    model.train()
    rng = np.random.default_rng(1)
    model.setup_input({k: paddle.to_tensor(rng.uniform(0, 1, (2, 3, SIZE, SIZE)).astype("float32"))
                       for k in ("source", "driving")})
    gaps = []
    for _ in range(5):
        model.train_iter(model.optimizers)
        gaps.append(model.losses["distillation_keypoints"])
    assert set(model.losses) == {"distillation_keypoints"}
    assert not model.render and "prediction" not in model.generated   # no image loss: no rendering
    assert gaps[-1] < gaps[0], gaps
    teacher_out = model._teacher_outputs()                     # recompute by hand
    student = {side: model.nets["kp_detector"](model.input[side.split("_")[1]])
               for side in ("kp_source", "kp_driving")}
    expected = sum(float(paddle.abs(student[s][p] - teacher_out[s][p]).mean())
                   for s in student for p in ("value", "jacobian")) / 2
    model.generated.update(student)
    np.testing.assert_allclose(float(model._distillation_losses()["distillation_keypoints"]),
                               expected, rtol=1e-5)


@pytest.mark.parametrize("bad", [-1, "ten", True])
def test_a_bad_distillation_weight_is_a_config_error(teacher, bad):
    path, _ = teacher
    with pytest.raises(ConfigError, match="distillation_keypoints"):
        mobile(path, "generator", loss_weights={"distillation_keypoints": bad})


def test_keypoint_only_stage_keeps_equivariance_and_trains_only_the_student(teacher):
    """kp_detector stage without image losses: no rendering, keypoint distillation plus
    FOMM's equivariance losses, and still only the student keypoint detector changes."""
    path, _ = teacher
    model = mobile(path, "kp_detector", loss_weights={"perceptual": [0] * 5, "distillation": 0})
    assert not model.render
    _, changed = step(model)
    assert changed == {"kp_detector"}, changed
    assert set(model.losses) == {"distillation_keypoints", "equivariance_value",
                                 "equivariance_jacobian"}
    assert all(np.isfinite(v) and v > 0 for v in model.losses.values()), model.losses
    assert mobile(path, "generator", loss_weights={"perceptual": [0] * 5, "distillation": 0}).render


def test_the_trainer_loads_the_teacher_the_model_asks_for(teacher, tmp_path):
    """The model reads no file: the trainer fills the teacher and the frozen half right after
    building it, and a teacher that does not fit fails there, naming the first key."""
    import yaml

    from ppgan_app.engine.trainer import Trainer
    from ppgan_app.errors import CheckpointMismatchError
    from ppgan_app.utils.config import resolve_config

    path, states = teacher
    raw = yaml.safe_load((FIXTURES / "tiny_train.yaml").read_text())
    raw["model"] = {k: copy.deepcopy(v) for k, v in TINY_MODEL.items() if k != "generator"}
    raw["model"].update(name="FirstOrderModelMobile", mode="kp_detector", teacher_weights=str(path),
                        generator_ori=copy.deepcopy(TINY_MODEL["generator"]),
                        generator=copy.deepcopy(STUDENT))
    cfg = resolve_config(raw, [f"output_dir={tmp_path / 'out'}"])
    model = Trainer(cfg, name="t", train_data=False).model
    for net in (model.teacher_gen, model.nets["generator"]):
        for key, value in states["generator"].items():
            np.testing.assert_array_equal(net.state_dict()[key].numpy(), value)
    cfg["model"]["generator_ori"]["kp_detector_cfg"]["num_blocks"] = 2      # not the teacher's
    with pytest.raises(CheckpointMismatchError, match="distillation teacher .* does not fit"):
        Trainer(cfg, name="t", train_data=False)
