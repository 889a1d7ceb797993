"""N iterations + resume + N iterations == 2N uninterrupted (CPU, fixed seed), and Ctrl-C."""
import signal
from typing import Dict

import numpy as np
import paddle

from ppgan_app.engine import Trainer
from ppgan_app.engine.checkpoint import list_checkpoints


def _state(trainer: Trainer) -> Dict[str, np.ndarray]:
    """Every net tensor (parameters and batch-norm statistics) and each scheduler's LR."""
    out = {f"{n}.{k}": v.numpy() for n, net in trainer.model.nets.items() for k, v in net.state_dict().items()}
    out.update({f"lr.{k}": np.array(s()) for k, s in trainer.model.lr_schedulers.items()})
    return out


def _assert_same(a: Dict[str, np.ndarray], b: Dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def _run(cfg, resume=None) -> Trainer:
    trainer = Trainer(cfg, name="t")
    trainer.train(resume=resume)
    trainer.close()
    return trainer


def test_resume_equals_uninterrupted(make_cfg):
    # 40 items, batch 8 -> 5 iterations per epoch: 3 + 3 resumes mid-epoch and crosses an epoch.
    full = _run(make_cfg(total_iters=6))
    first = _run(make_cfg(total_iters=3))
    (ckpt,) = list_checkpoints(first.run_dir)
    second = _run(make_cfg(total_iters=6), resume=ckpt)
    assert second.iter == 6
    _assert_same(_state(full), _state(second))
    assert not np.array_equal(_state(first)["netG.body.0.0.weight"], _state(second)["netG.body.0.0.weight"])


def test_ctrl_c_saves_then_resume_is_exact(make_cfg):
    full = _run(make_cfg(total_iters=5))
    trainer = Trainer(make_cfg(total_iters=5), name="t")
    original = trainer.model.train_iter

    def train_iter_then_interrupt(optimizers):
        original(optimizers)
        if trainer.model.current_iter == 2:  # the model counts its own iterations
            signal.raise_signal(signal.SIGINT)

    trainer.model.train_iter = train_iter_then_interrupt
    assert trainer.train() == "interrupted"
    trainer.close()
    assert trainer.iter == 2
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    (ckpt,) = list_checkpoints(trainer.run_dir)
    resumed = _run(make_cfg(total_iters=5), resume=ckpt)
    _assert_same(_state(full), _state(resumed))


def test_keyboard_interrupt_outside_handler_still_saves(make_cfg):
    trainer = Trainer(make_cfg(total_iters=5), name="t")

    def interrupt(optimizers):
        raise KeyboardInterrupt

    trainer.model.train_iter = interrupt
    assert trainer.train() == "interrupted"
    trainer.close()
    assert [p.name for p in list_checkpoints(trainer.run_dir)] == ["iter_0000000_checkpoint.pdparams"]
    assert paddle.get_device() == "cpu"


def test_checkpoint_records_threads_and_a_different_count_warns(make_cfg, caplog):
    first = Trainer(make_cfg(total_iters=2), name="t", cpu_threads=1)
    first.train()
    first.close()
    (ckpt,) = list_checkpoints(first.run_dir)
    assert paddle.load(str(ckpt))["cpu_threads"] == 1
    caplog.set_level("WARNING", logger="ppgan_app")
    second = Trainer(make_cfg(total_iters=3), name="t", cpu_threads=2)
    second.train(resume=ckpt)
    second.close()
    assert "trained with 1 CPU thread(s), this run uses 2" in caplog.text
    assert "--threads 1" in caplog.text


def test_tools_main_resumes_with_the_checkpoints_thread_count():
    from ppgan_app.cli.train import _checkpoint_threads
    assert _checkpoint_threads({"cpu_threads": 1}) == 1
    assert _checkpoint_threads({"iter": 3}) is None     # older checkpoints: the default count
    assert _checkpoint_threads(None) is None
