"""The loop's periodic work, with a tiny model and metric registered here under unique names."""
import logging

import paddle
import pytest
import yaml

from ppgan_app.engine import Trainer
from ppgan_app.engine.checkpoint import list_checkpoints
from ppgan_app.errors import ConfigError
from ppgan_app.models.base_model import BaseModel
from ppgan_app.registries import METRICS, MODELS


@MODELS.register(name="_EngineLoopTestModel")
class _LinearModel(BaseModel):
    """Least squares on flattened images; counts calls."""

    def __init__(self, dim: int = 32 * 32) -> None:
        super().__init__()
        self.nets["net"] = paddle.nn.Linear(dim, 1)
        self.train_calls = 0

    def setup_input(self, batch):
        self.x = batch["img"].reshape([batch["img"].shape[0], -1])

    def train_iter(self, optimizers=None):
        loss = (self.nets["net"](self.x) ** 2).mean()
        opt = optimizers["optimizer"]
        opt.clear_grad()
        loss.backward()
        opt.step()
        self.train_calls += 1
        self.losses["loss"] = float(loss)
        self.visual_items["real"] = self.x.reshape([-1, 1, 32, 32])

    def test_iter(self, metrics=None):
        for metric in (metrics or {}).values():
            metric.update(self.x)


@METRICS.register(name="_EngineLoopTestCount")
class _Count:
    def __init__(self, scale: float = 1.0) -> None:
        self.scale, self.n = scale, 0

    def reset(self):
        self.n = 0

    def update(self, x):
        self.n += int(x.shape[0])

    def accumulate(self):
        return self.n * self.scale


@pytest.fixture
def linear_cfg(make_cfg):
    def build(**top):
        top.setdefault("model", {"name": "_EngineLoopTestModel"})
        top.setdefault("optimizer", {"name": "SGD", "learning_rate": 0.1})
        top.setdefault("lr_scheduler", {"name": "StepDecay", "learning_rate": 0.1, "step_size": 1, "gamma": 0.5})
        return make_cfg(**top)
    return build


def test_periodic_work(linear_cfg, caplog, monkeypatch):
    monkeypatch.setattr(logging.getLogger("ppgan_app"), "propagate", True)
    caplog.set_level(logging.INFO, logger="ppgan_app")
    cfg = linear_cfg(total_iters=6, log_config={"interval": 3, "visiual_interval": 2},
                     snapshot_config={"interval": 2, "max_keep": 2},
                     validate={"interval": 3, "metrics": {"count": {"name": "_EngineLoopTestCount"}}})
    trainer = Trainer(cfg, name="loop")
    assert trainer.train() == "finished"
    trainer.close()
    assert trainer.model.train_calls == 6
    assert trainer.model.optimizers["optimizer"].get_lr() == pytest.approx(0.1 * 0.5 ** 6)  # one step per iter
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("iter ")]
    assert len(lines) == 3 and lines[0].startswith("iter 1/6 ")  # the first one always
    assert lines[1].startswith("iter 3/6 epoch 0 | loss ")
    assert "lr 0.0125" in lines[1] and "img/s" in lines[1] and "eta 0:00:0" in lines[1]
    assert [m for m in caplog.messages if m.startswith("validation")] == ["validation at iteration 3: count 16.0000",
                                                                        "validation at iteration 6: count 16.0000"]
    assert sorted(p.name for p in (trainer.run_dir / "visual").iterdir()) == [
        "iter_0000002_real.png", "iter_0000004_real.png", "iter_0000006_real.png"]
    assert [p.name for p in list_checkpoints(trainer.run_dir)] == [
        "iter_0000004_checkpoint.pdparams", "iter_0000006_checkpoint.pdparams"]
    saved = yaml.safe_load((trainer.run_dir / "config.yaml").read_text())
    assert saved["seed"] == 7 and saved["model"]["name"] == "_EngineLoopTestModel"
    assert (trainer.run_dir / "train.log").read_text().count("iter 3/6") == 1


def test_epochs_count_iterations_and_snapshots_by_epoch(linear_cfg):
    # 40 items, batch 8 -> 5 iterations per epoch; snapshot interval 1 = every epoch.
    trainer = Trainer(linear_cfg(total_iters=None, epochs=2, snapshot_config={"interval": 1, "max_keep": 0}))
    trainer.train()
    trainer.close()
    assert trainer.iter == 10
    assert [p.name for p in list_checkpoints(trainer.run_dir)] == [
        "iter_0000005_checkpoint.pdparams", "iter_0000010_checkpoint.pdparams"]


def test_evaluate_only_needs_no_train_data(linear_cfg):
    cfg = linear_cfg(validate={"metrics": {"count": {"name": "_EngineLoopTestCount", "scale": 2.0}}})
    cfg["dataset"]["train"]["data_root"] = "/nonexistent"
    trainer = Trainer(cfg, train_data=False)
    assert trainer.evaluate() == {"count": 32.0}
    trainer.close()


def test_seed_is_drawn_and_recorded_when_unset(linear_cfg):
    trainer = Trainer(linear_cfg(seed=None))
    assert not trainer.run_dir.exists()  # made when the run first writes
    trainer.open_run_dir()
    trainer.close()
    assert isinstance(trainer.seed, int)
    assert yaml.safe_load((trainer.run_dir / "config.yaml").read_text())["seed"] == trainer.seed


class _FakeLogWriter:
    """Stands in for ``visualdl.LogWriter`` (VisualDL is optional and not installed here)."""

    calls: list = []

    def __init__(self, logdir):
        self.logdir = logdir

    def add_scalar(self, tag, value, step):
        self.calls.append(("scalar", tag, step))

    def add_image(self, tag, img, step):
        self.calls.append(("image", tag, img.shape, step))

    def close(self):
        self.calls.append(("close",))


def test_visualdl_used_when_importable(linear_cfg, monkeypatch):
    import sys
    import types
    monkeypatch.setitem(sys.modules, "visualdl", types.SimpleNamespace(LogWriter=_FakeLogWriter))
    _FakeLogWriter.calls = []
    trainer = Trainer(linear_cfg(total_iters=2, log_config={"interval": 1, "visiual_interval": 2}))
    trainer.train()
    trainer.close()
    calls = _FakeLogWriter.calls
    assert ("scalar", "train/loss", 1) in calls and ("scalar", "train/lr", 2) in calls
    assert ("image", "visual/real", (3 * 34 + 2, 3 * 34 + 2, 1), 2) in calls  # 8 images, 3 per row and calls[-1] == ("close",)


def test_last_iteration_has_a_sample_grid(linear_cfg):
    trainer = Trainer(linear_cfg(total_iters=5, log_config={"interval": 10, "visiual_interval": 2}))
    trainer.train()
    trainer.close()
    assert sorted(p.name for p in (trainer.run_dir / "visual").iterdir()) == [
        "iter_0000002_real.png", "iter_0000004_real.png", "iter_0000005_real.png"]


def test_no_grids_when_visuals_are_off(linear_cfg):
    trainer = Trainer(linear_cfg(total_iters=3, log_config={"interval": 10, "visiual_interval": 0}))
    trainer.train()
    trainer.close()
    assert not (trainer.run_dir / "visual").exists()


def test_resuming_a_finished_run_says_so_and_makes_no_folder(linear_cfg, tmp_path):
    first = Trainer(linear_cfg(total_iters=3), name="done")
    first.train()
    first.close()
    (ckpt,) = list_checkpoints(first.run_dir)
    runs_before = sorted(first.run_dir.parent.iterdir())
    again = Trainer(linear_cfg(total_iters=3), name="done")
    with pytest.raises(ConfigError, match=r"is at iteration 3, the end of this run \(total_iters 3\): "
                                          r"nothing left to train.*-o total_iters=6"):
        again.train(resume=ckpt)
    again.close()
    assert sorted(first.run_dir.parent.iterdir()) == runs_before


def test_too_many_epochs_fail_before_training(linear_cfg):
    with pytest.raises(ConfigError, match="more than the 1000000000 a run may have"):
        Trainer(linear_cfg(total_iters=None, epochs=400_000_000))
