"""Checkpoint contents, round trip, atomic write, pruning, and optimizer state across renames."""
import numpy as np
import paddle
import pytest

from ppgan_app.engine import Trainer
from ppgan_app.engine import checkpoint as ckpt


def test_checkpoint_holds_everything_and_round_trips(make_cfg):
    trainer = Trainer(make_cfg(total_iters=2), name="t")
    trainer.train()
    trainer.close()
    (path,) = ckpt.list_checkpoints(trainer.run_dir)
    assert [p.name for p in trainer.run_dir.iterdir() if p.name.startswith(".")] == []  # no temp files
    state = ckpt.load_checkpoint(path)
    assert set(state) == {"nets", "optimizers", "lr_schedulers", "iter", "rng", "config", "mid_iteration",
                          "cpu_threads"}
    assert state["mid_iteration"] is False
    assert state["iter"] == 2 and state["config"]["seed"] == 7
    assert set(state["nets"]) == {"netG", "netD"}
    assert set(state["rng"]) == {"python", "numpy", "paddle"}

    fresh = Trainer(make_cfg(total_iters=2), name="t")  # new parameter names in this process
    assert fresh.model.nets["netD"].head.weight.name != trainer.model.nets["netD"].head.weight.name
    assert ckpt.restore_training_state(fresh.model, state) == 2
    for name, net in trainer.model.nets.items():
        for key, value in net.state_dict().items():
            np.testing.assert_array_equal(value.numpy(), fresh.model.nets[name].state_dict()[key].numpy())
    for name, opt in trainer.model.optimizers.items():
        old = ckpt.optimizer_state(opt)
        new = ckpt.optimizer_state(fresh.model.optimizers[name])
        rename = dict(zip(old["param_names"], new["param_names"]))
        moment = next(k for k in old["state"] if k.endswith("_moment1_0"))
        new_key = rename[moment[: -len("_moment1_0")]] + "_moment1_0"
        np.testing.assert_array_equal(old["state"][moment].numpy(), new["state"][new_key].numpy())
    fresh.close()


def test_rng_state_round_trip():
    ckpt.seed_everything(3)
    state = ckpt.get_rng_state()
    first = (paddle.randn([3]).numpy(), np.random.rand(), __import__("random").random())
    ckpt.set_rng_state(state)
    second = (paddle.randn([3]).numpy(), np.random.rand(), __import__("random").random())
    np.testing.assert_array_equal(first[0], second[0])
    assert first[1:] == second[1:]


def test_prune_keeps_newest(tmp_path):
    for it in (1, 2, 10, 3):
        ckpt.save_checkpoint({"iter": it}, ckpt.checkpoint_path(tmp_path, it))
    ckpt.prune_checkpoints(tmp_path, 2)
    assert [ckpt.load_checkpoint(p)["iter"] for p in ckpt.list_checkpoints(tmp_path)] == [3, 10]


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(ckpt.CheckpointError, match="not found"):
        ckpt.load_checkpoint(tmp_path / "nope.pdparams")


def test_load_weights_only_keeps_iteration_and_optimizer(make_cfg):
    trainer = Trainer(make_cfg(total_iters=2), name="t")
    trainer.train()
    (path,) = ckpt.list_checkpoints(trainer.run_dir)
    other = Trainer(make_cfg(total_iters=2, seed=8), name="t")
    other.load_weights(path)
    assert other.iter == 0
    np.testing.assert_array_equal(other.model.nets["netG"].head.weight.numpy(),
                                  trainer.model.nets["netG"].head.weight.numpy())
    trainer.close()
    other.close()


def test_load_of_wrong_shaped_weights_keeps_the_nets_own(make_cfg):
    trainer = Trainer(make_cfg(), name="t")
    net = trainer.model.nets["netG"]
    before = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    wrong = {k: np.zeros([s + 1 for s in v.shape], "float32") if v.ndim else v.numpy()
             for k, v in net.state_dict().items()}
    loaded, total = ckpt.load_nets(trainer.model, {"netG": wrong, "netD": trainer.model.nets["netD"].state_dict()},
                                   strict=False)
    assert loaded == total - sum(1 for v in before.values() if v.ndim)
    for key, value in net.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), before[key])
