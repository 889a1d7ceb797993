"""Exact resume for every shipped training config: stopped by Ctrl-C at iteration 2 and resumed
to iteration 4, each config (shrunk: tiny nets, tiny synthetic data) ends with the weights,
batch-norm statistics, EMA copy and learning rates of an uninterrupted 4-iteration run, bit for
bit. Samples and validation run inside both runs (they draw noise and re-estimate the EMA's
statistics), so what they touch must be saved too."""
from __future__ import annotations

import copy
import signal
from pathlib import Path
from typing import Any, Dict, List

import cv2
import numpy as np
import paddle
import pytest
import yaml

from ppgan_app.engine import Trainer
from ppgan_app.engine.checkpoint import list_checkpoints
from ppgan_app.models.firstorder import build_fomm_networks
from ppgan_app.utils.config import load_config

from conftest import write_tiny_mnist

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
STOP, TOTAL = 2, 4

# shrunk sizes, by key, wherever the key appears in the model section (FOMM: 64x64 frames, as
# Paddle's instance norm gives NaN gradients on the 2x2 maps a discriminator makes of 32x32)
SR_SIZES = {"nf": 4, "unf": 4, "nb": 1, "gc": 4, "num_feat": 4, "crops_per_image": 2}
GAN_SIZES = {"nz": 8, "ngf": 4, "ndf": 4, "hidden_dims": [16], "num_samples": 4, "ema_start": 1}
FOMM_SIZES = {"block_expansion": 4, "max_features": 8, "num_blocks": 3, "num_bottleneck_blocks": 1,
              "num_kp": 4, "scales": [1, 0.5], "frame_shape": [64, 64, 3], "num_repeats": 2}
COMMON = ["seed=5", f"total_iters={TOTAL}", "log_config.interval=1", "log_config.visiual_interval=1",
          "snapshot_config.interval=0", "validate.interval=2"]


def trainable_configs() -> List[str]:
    """Every trainer config in configs/ (a model and a data set; model-only configs and the
    augmentation experiment's own configs are left out)."""
    return sorted(p.stem for p in CONFIGS.glob("*.yaml")
                  if {"model", "dataset"} <= set(yaml.safe_load(p.read_text()) or {}))


def test_the_configs_left_out_are_known():
    left_out = {p.stem for p in CONFIGS.glob("*.yaml")} - set(trainable_configs())
    experiments = {p.stem for p in CONFIGS.glob("augmentation_*.yaml")}  # tests/apps/gan
    assert left_out - experiments == {"firstorder_tiny_64"}  # an architecture for inference tests


def shrink(node: Any, sizes: Dict[str, Any]) -> Any:
    """``node`` with every key in ``sizes`` (at any depth) given that value."""
    if isinstance(node, dict):
        return {k: copy.deepcopy(sizes[k]) if k in sizes else shrink(v, sizes) for k, v in node.items()}
    if isinstance(node, list):
        return [shrink(v, sizes) for v in node]
    return node


def motion_data(root: Path) -> Path:
    """train/: two stills with a 4-frame clip each (``<still>#<clip>`` folders of PNGs); test/: one."""
    rng = np.random.default_rng(0)
    for split, names in (("train", ["a#0", "b#0"]), ("test", ["c#0"])):
        for name in names:
            folder = root / split / name
            folder.mkdir(parents=True)
            base = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
            for t in range(4):
                cv2.imwrite(str(folder / f"{t:04d}.png"), np.roll(base, 2 * t, axis=1))
    return root


def sr_pictures(root: Path, side: int) -> Path:
    """Three random-noise pictures of ``side`` pixels (enough for the SR crops)."""
    rng = np.random.default_rng(0)
    root.mkdir(parents=True)
    for i in range(3):
        cv2.imwrite(str(root / f"p{i}.png"), rng.integers(0, 256, (side, side, 3), dtype=np.uint8))
    return root


def teacher_weights(model_cfg: Dict[str, Any], path: Path) -> Path:
    """A random teacher for the distillation configs, saved as PaddleGAN's two-net checkpoint."""
    config = {"model": {"common_params": model_cfg["common_params"], "generator": model_cfg["generator_ori"]}}
    kp, gen = build_fomm_networks(config, inference=False)
    paddle.save({"kp_detector": kp.state_dict(), "generator": gen.state_dict()}, str(path))
    return path


def tiny_config(name: str, tmp_path: Path) -> Dict[str, Any]:
    cfg = load_config(CONFIGS / f"{name}.yaml", COMMON + [f"output_dir={tmp_path / 'out'}"])
    train, test = cfg["dataset"]["train"], cfg["dataset"]["test"]
    if train["name"] == "FirstOrderDataset":
        cfg["model"] = shrink(cfg["model"], FOMM_SIZES)
        for key in ("generator", "generator_ori"):  # no VGG19 weights to download
            if key in cfg["model"]:
                cfg["model"][key].update(perceptual_features="pixels", vgg_weights=None)
        cfg["dataset"] = shrink(cfg["dataset"], FOMM_SIZES)
        root = motion_data(tmp_path / "motion")
        for entry in cfg["dataset"].values():
            entry.update(dataroot=str(root), num_workers=0)
        cfg["dataset"]["train"]["batch_size"] = 2
        if "teacher_weights" in cfg["model"]:
            cfg["model"]["teacher_weights"] = str(teacher_weights(cfg["model"], tmp_path / "teacher.pdparams"))
    elif train["name"] == "SRPairsDataset":
        cfg["model"] = shrink(cfg["model"], SR_SIZES)
        cfg["model"].update(perceptual_features="pixels", vgg_weights=None)
        cfg["dataset"] = shrink(cfg["dataset"], SR_SIZES)
        root = sr_pictures(tmp_path / "pictures", max(e["gt_size"] for e in cfg["dataset"].values()) + 8)
        for entry in cfg["dataset"].values():
            entry.update(dataroot=str(root), batch_size=2)
    else:
        cfg["model"] = shrink(cfg["model"], GAN_SIZES)
        root = write_tiny_mnist(tmp_path / "mnist", n_train=24, n_test=8)
        train.update(dataroot=str(root), batch_size=4)
        test.update(dataroot=str(root), batch_size=4, max_samples=8)
    return cfg


def run(cfg: Dict[str, Any], stop_at: int | None = None, resume: Path | None = None) -> Trainer:
    """Train ``cfg`` (from ``resume``); a SIGINT after iteration ``stop_at`` stops it as Ctrl-C does."""
    trainer = Trainer(cfg, name="run")
    if stop_at is not None:
        original = trainer.model.train_iter

        def train_iter_then_interrupt(optimizers):
            original(optimizers)
            if trainer.iter + 1 == stop_at:  # the trainer counts the iteration after this call
                signal.raise_signal(signal.SIGINT)

        trainer.model.train_iter = train_iter_then_interrupt
    status = trainer.train(resume=resume)
    trainer.close()
    assert status == ("interrupted" if stop_at is not None else "finished")
    return trainer


def state(trainer: Trainer) -> Dict[str, np.ndarray]:
    """Every net tensor (EMA copy and batch-norm statistics included) and each scheduler's LR."""
    out = {f"{n}.{k}": v.numpy() for n, net in trainer.model.nets.items() for k, v in net.state_dict().items()}
    out.update({f"lr.{k}": np.array(s()) for k, s in trainer.model.lr_schedulers.items()})
    return out


@pytest.mark.parametrize("name", trainable_configs())
def test_ctrl_c_and_resume_equals_an_uninterrupted_run(name, tmp_path):
    cfg = tiny_config(name, tmp_path)
    straight = state(run(cfg))
    stopped = run(cfg, stop_at=STOP)
    assert stopped.iter == STOP
    (checkpoint,) = list_checkpoints(stopped.run_dir)
    resumed = run(cfg, resume=checkpoint)
    assert resumed.iter == TOTAL
    after = state(resumed)
    assert straight.keys() == after.keys()
    differ = {k: float(np.abs(straight[k].astype("float64") - after[k].astype("float64")).max())
              for k in straight if not np.array_equal(straight[k], after[k])}
    assert not differ, f"{name}: resumed run differs in {len(differ)} tensor(s): {differ}"
    moved = [k for k, v in state(stopped).items() if not np.array_equal(v, after[k])]
    assert moved, "iterations after the stop changed nothing: the test would not see a difference"
