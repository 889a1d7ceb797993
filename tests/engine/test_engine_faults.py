"""Faults during training: divergence, full disk, bad checkpoints, signals, unwritable output."""
import errno
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import paddle
import pytest

from ppgan_app.engine import Trainer
from ppgan_app.engine import checkpoint as ckpt
from ppgan_app.engine.run_dir import check_output_dir
from ppgan_app.errors import (CheckpointError, InputError, OutputError, Terminated,
                              TrainingDivergedError)


def _trainer(make_cfg, **top) -> Trainer:
    return Trainer(make_cfg(**top), name="t")


def _dead_pid() -> int:
    """The pid of a process that has exited (for stale temp names)."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout)


# --- output folder ----------------------------------------------------------------------
def test_output_dir_under_a_file_is_an_input_error(tmp_path, make_cfg):
    (tmp_path / "afile").write_text("x")
    cfg = make_cfg()
    cfg["output_dir"] = str(tmp_path / "afile" / "runs")
    with pytest.raises(InputError, match="output_dir"):
        Trainer(cfg)
    with pytest.raises(InputError, match="is a file"):
        check_output_dir(tmp_path / "afile")


def test_read_only_output_dir_fails_before_building_and_leaves_nothing(tmp_path, monkeypatch):
    import ppgan_app.engine.run_dir as run_dir

    def read_only(path, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(run_dir, "open", read_only, raising=False)
    with pytest.raises(InputError, match="Read-only file system; choose a folder you can write to"):
        check_output_dir(tmp_path / "new" / "runs")
    assert list(tmp_path.iterdir()) == []  # the folders it made for the probe are gone


def test_run_that_fails_before_its_first_iteration_leaves_no_run_folder(make_cfg, tmp_path):
    trainer = _trainer(make_cfg)
    assert not (tmp_path / "out").exists()  # nothing created while building

    def broken(optimizers):
        raise RuntimeError("boom")

    trainer.model.train_iter = broken
    with pytest.raises(RuntimeError, match="boom"):
        trainer.train()
    trainer.close()
    assert not (tmp_path / "out").exists()  # nor the output folder it had to create


@pytest.mark.parametrize("workers", [0, 2])
def test_unreadable_image_is_one_input_error_with_or_without_workers(make_cfg, tmp_path, workers):
    import cv2
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(8):
        cv2.imwrite(str(folder / f"{i}.png"), np.random.RandomState(i).randint(0, 255, (28, 28), np.uint8))
    (folder / "9.png").write_bytes(b"")
    cfg = make_cfg(validate=None)
    cfg["dataset"] = {"train": {"name": "ImageFolderDataset", "data_root": str(folder), "channels": 1,
                                "transforms": [{"name": "Resize", "size": 32}, {"name": "Normalize"}],
                                "batch_size": 9, "num_workers": workers}, "test": None}
    trainer = Trainer(cfg, name="t")
    with pytest.raises(InputError, match=r"^cannot read image .*9\.png: the file is empty; remove or replace it$"):
        trainer.train()
    assert not (tmp_path / "out").exists()
    trainer.cfg["dataset"]["test"] = dict(cfg["dataset"]["train"], shuffle=False, drop_last=False)
    with pytest.raises(InputError, match=r"^cannot read image .*9\.png"):  # validation reads alike
        trainer.evaluate()
    trainer.close()


# --- divergence ---------------------------------------------------------------------------
def _poison_batch_at(trainer: Trainer, iteration: int, only: bool = False) -> None:
    """From 0-based iteration ``iteration`` on (or at it ``only``), the images are NaN (a real
    NaN through the nets)."""
    setup = trainer.model.setup_input

    def setup_input(batch):
        step = trainer.model.current_iter
        if step == iteration or (step > iteration and not only):
            batch = dict(batch, img=batch["img"] * float("nan"))
        setup(batch)

    trainer.model.setup_input = setup_input


def test_nan_loss_stops_and_keeps_the_last_finite_checkpoints(make_cfg):
    trainer = _trainer(make_cfg, total_iters=8, snapshot_config={"interval": 1, "max_keep": 2})
    _poison_batch_at(trainer, 4)
    with pytest.raises(TrainingDivergedError) as err:
        trainer.train()
    trainer.close()
    message = str(err.value)
    assert "training diverged at iteration 5: loss D_loss is nan" in message
    kept = ckpt.list_checkpoints(trainer.run_dir)
    assert [p.name for p in kept] == ["iter_0000003_checkpoint.pdparams", "iter_0000004_checkpoint.pdparams"]
    assert f"last good checkpoint {kept[-1]}" in message
    for path in kept:
        assert ckpt.non_finite_tensors(ckpt.load_checkpoint(path)["nets"]) == []
    assert (trainer.run_dir / "train.log").is_file()  # the diverged run's log is kept


def test_nan_policy_skip_undoes_the_bad_update_exactly(make_cfg):
    skipping = _trainer(make_cfg, total_iters=5, nan_policy="skip")
    _poison_batch_at(skipping, 2, only=True)
    assert skipping.train() == "finished"
    skipping.close()
    reference = _trainer(make_cfg, total_iters=5)  # the same run, where iteration 3 updates nothing
    train_iter = reference.model.train_iter
    reference.model.train_iter = lambda optimizers: (None if reference.model.current_iter == 2
                                                     else train_iter(optimizers))
    reference.train()
    reference.close()
    assert skipping.iter == reference.iter == 5
    for name, net in reference.model.nets.items():
        for key, value in net.state_dict().items():
            np.testing.assert_array_equal(skipping.model.nets[name].state_dict()[key].numpy(),
                                          value.numpy(), err_msg=f"{name}.{key}")
    (path,) = ckpt.list_checkpoints(skipping.run_dir)
    assert ckpt.non_finite_tensors(ckpt.load_checkpoint(path)["nets"]) == []


def test_nan_policy_skip_gives_up_after_many_bad_batches_in_a_row(make_cfg, caplog):
    trainer = _trainer(make_cfg, total_iters=20, nan_policy="skip")
    _poison_batch_at(trainer, 1)
    with caplog.at_level(logging.WARNING, logger="ppgan_app"):
        with pytest.raises(TrainingDivergedError, match="iteration 11: loss D_loss is nan, 10 batches in a row"):
            trainer.train()
    trainer.close()
    assert "iteration 2: loss D_loss is nan; its update was undone (nan_policy: skip)" in caplog.text


def test_non_finite_weights_are_never_saved(make_cfg, tmp_path):
    trainer = _trainer(make_cfg, total_iters=2)
    trainer.train()
    good = ckpt.list_checkpoints(trainer.run_dir)
    weight = trainer.model.nets["netG"].head.weight
    weight.set_value(np.full(weight.shape, np.inf, "float32"))
    trainer.iter = 3
    with pytest.raises(TrainingDivergedError, match=r"weight netG\.head\.weight reached \|inf\|"):
        trainer.save_checkpoint()
    state = ckpt.training_state(trainer.model, 3, trainer.cfg)
    with pytest.raises(TrainingDivergedError, match="hold NaN/Inf"):  # the file layer checks too
        ckpt.save_checkpoint(state, tmp_path / "x.pdparams")
    assert ckpt.list_checkpoints(trainer.run_dir) == good and not (tmp_path / "x.pdparams").exists()
    trainer.close()


def test_exploding_weights_stop_the_run(make_cfg):
    trainer = _trainer(make_cfg, total_iters=4, max_param_abs=1)  # batch-norm scales start at 1
    with pytest.raises(TrainingDivergedError, match=r"iteration 1: weight .* \(max_param_abs 1\)"):
        trainer.train()
    trainer.close()
    assert ckpt.list_checkpoints(trainer.run_dir) == []


# --- checkpoint files ---------------------------------------------------------------------
@pytest.mark.parametrize("wrapped", [False, True])
def test_disk_full_while_saving_keeps_the_previous_checkpoint(make_cfg, monkeypatch, wrapped):
    trainer = _trainer(make_cfg, total_iters=2)
    trainer.train()
    (previous,) = ckpt.list_checkpoints(trainer.run_dir)
    before = previous.read_bytes()

    def full_disk(obj, path, **kwargs):
        Path(path).write_bytes(b"partial")  # some bytes got out before the disk filled
        err = OSError(errno.ENOSPC, "No space left on device")
        if wrapped:  # as a library may re-raise it
            raise RuntimeError("save failed") from err
        raise err

    monkeypatch.setattr(ckpt.paddle, "save", full_disk)
    trainer.iter = 3
    target = ckpt.checkpoint_path(trainer.run_dir, 3)
    with pytest.raises(OutputError, match=f"no space left on device at {target}"):
        trainer.save_checkpoint()
    trainer.close()
    assert sorted(p.name for p in trainer.run_dir.iterdir()) == sorted(
        ["config.yaml", "train.log", previous.name])  # no temp file, no partial checkpoint
    assert previous.read_bytes() == before


def test_stale_temps_of_killed_runs_are_removed_on_resume(make_cfg):
    first = _trainer(make_cfg, total_iters=2)
    first.train()
    first.close()
    (path,) = ckpt.list_checkpoints(first.run_dir)
    stale = first.run_dir / f".iter_0000004_checkpoint.pdparams.{_dead_pid()}-0123abcd.tmp.pdparams"
    live = first.run_dir / f".iter_0000004_checkpoint.pdparams.{os.getpid()}-0123abcd.tmp.pdparams"
    other = first.run_dir / f".notes.txt.{_dead_pid()}-0123abcd.tmp.txt"
    for temp in (stale, live, other):
        temp.write_bytes(b"partial")
    resumed = _trainer(make_cfg, total_iters=3)
    resumed.train(resume=path)
    resumed.close()
    assert not stale.exists() and live.exists() and other.exists()


def test_resume_from_a_weights_file_is_a_checkpoint_error(make_cfg, tmp_path):
    fomm = tmp_path / "vox-cpk.pdparams"
    paddle.save({"generator": {"w": paddle.zeros([2])}, "kp_detector": {"w": paddle.zeros([2])}}, str(fomm))
    junk = tmp_path / "junk.pdparams"
    junk.write_bytes(os.urandom(256))
    trainer = _trainer(make_cfg)
    with pytest.raises(CheckpointError, match="is not a trainer checkpoint .*it holds generator, kp_detector"):
        trainer.train(resume=fomm)
    with pytest.raises(CheckpointError, match="cannot read checkpoint .*junk.pdparams"):
        trainer.train(resume=junk)
    trainer.close()
    assert not (tmp_path / "out").exists()


def test_load_where_nothing_fits_is_an_error_and_partial_fits_warn(make_cfg, tmp_path, caplog):
    trainer = _trainer(make_cfg)
    unrelated = tmp_path / "unrelated.pdparams"
    paddle.save({"generator": {"conv.weight": paddle.zeros([3, 3])}}, str(unrelated))
    with pytest.raises(CheckpointError, match="none of the checkpoint's weights fit this model"):
        trainer.load_weights(unrelated)
    nets = {k: dict(net.state_dict()) for k, net in trainer.model.nets.items()}
    nets["netG"]["head.weight"] = paddle.zeros([1, 1])  # wrong shape: skipped
    partial = tmp_path / "partial.pdparams"
    paddle.save(nets, str(partial))
    own = len(trainer.model.nets["netG"].state_dict())
    with caplog.at_level(logging.WARNING, logger="ppgan_app"):
        trainer.load_weights(partial)
    assert f"net 'netG': 1 of {own} tensors not loaded" in caplog.text
    trainer.close()


# --- signals ------------------------------------------------------------------------------
def _signal_at(trainer: Trainer, iteration: int, signum: int, times: int = 1) -> None:
    """Send ``signum`` to this process ``times`` times inside iteration ``iteration`` (1-based:
    the model counts its own iterations), after its update."""
    train_iter = trainer.model.train_iter

    def wrapped(optimizers):
        train_iter(optimizers)
        if trainer.model.current_iter == iteration:
            for _ in range(times):
                signal.raise_signal(signum)

    trainer.model.train_iter = wrapped


def test_sigterm_finishes_the_iteration_and_saves(make_cfg):
    trainer = _trainer(make_cfg, total_iters=6)
    _signal_at(trainer, 2, signal.SIGTERM)
    previous = signal.getsignal(signal.SIGTERM)
    assert trainer.train() == "interrupted"
    trainer.close()
    assert trainer.stop_signal == "SIGTERM" and trainer.iter == 2
    assert signal.getsignal(signal.SIGTERM) is previous
    (path,) = ckpt.list_checkpoints(trainer.run_dir)
    assert ckpt.load_checkpoint(path)["mid_iteration"] is False


def test_second_signal_mid_iteration_marks_the_checkpoint_and_resume_warns(make_cfg, caplog):
    trainer = _trainer(make_cfg, total_iters=6)
    _signal_at(trainer, 2, signal.SIGINT, times=2)
    assert trainer.train() == "interrupted"
    trainer.close()
    assert trainer.stop_signal == "SIGINT" and trainer.iter == 1  # iteration 2 never finished
    (path,) = ckpt.list_checkpoints(trainer.run_dir)
    assert ckpt.load_checkpoint(path)["mid_iteration"] is True
    resumed = _trainer(make_cfg, total_iters=2)
    with caplog.at_level(logging.WARNING, logger="ppgan_app"):
        assert resumed.train(resume=path) == "finished"
    resumed.close()
    assert "will not reproduce an uninterrupted run" in caplog.text


def test_second_signal_while_saving_leaves_no_file(make_cfg, monkeypatch):
    trainer = _trainer(make_cfg, total_iters=6)
    _signal_at(trainer, 1, signal.SIGTERM)
    real_save = ckpt.paddle.save

    def interrupted_save(obj, path, **kwargs):
        real_save(obj, path, **kwargs)
        signal.raise_signal(signal.SIGTERM)  # the second signal, before the rename

    monkeypatch.setattr(ckpt.paddle, "save", interrupted_save)
    with pytest.raises(Terminated):
        trainer.train()
    trainer.close()
    assert list(trainer.run_dir.iterdir()) and not ckpt.list_checkpoints(trainer.run_dir)
    assert not [p for p in trainer.run_dir.iterdir() if p.name.startswith(".")]


def test_worker_error_keeps_kit_types_and_the_last_line():
    from ppgan_app.engine.data import worker_error
    assert worker_error([]) is None
    paddle_style = "DataLoader worker(0) caught {0} with message:\nTraceback (most recent call last):\n  ...\n{1}: {2}\n"
    kit = worker_error([InputError(paddle_style.format("InputError", "ppgan_app.errors.InputError", "bad image x"))])
    assert type(kit) is InputError and str(kit) == "bad image x"
    other = worker_error([ValueError(paddle_style.format("ValueError", "ValueError", "cannot reshape"))])
    assert type(other) is RuntimeError and str(other) == "reading the data failed: ValueError: cannot reshape"
