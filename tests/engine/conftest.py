"""Tiny real-model configs and an idx dataset written per test (no ../shared data needed)."""
from pathlib import Path
from typing import Any, Callable, Dict

import numpy as np
import pytest

from ppgan_app.datasets.mnist import write_idx
from ppgan_app.utils.config import resolve_config


def write_tiny_mnist(folder: Path, n_train: int = 40, n_test: int = 16, seed: int = 0) -> Path:
    """Random 28x28 'digits' in MNIST idx format."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.RandomState(seed)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(str(folder / f"{prefix}-images-idx3-ubyte"), rng.randint(0, 256, (n, 28, 28)).astype(np.uint8))
        write_idx(str(folder / f"{prefix}-labels-idx1-ubyte"), (np.arange(n) % 10).astype(np.uint8))
    return folder


def tiny_dcgan_config(data_root: Path, output_dir: Path, **top: Any) -> Dict[str, Any]:
    """A DCGANModel config small enough for a few iterations per second on CPU."""
    data = {"name": "MNISTDataset", "data_root": str(data_root), "batch_size": 8,
            "transforms": [{"name": "RandomHorizontalFlip", "prob": 0.5}, {"name": "Normalize"}]}
    cfg = {
        "total_iters": 4, "output_dir": str(output_dir), "seed": 7,
        "model": {"name": "DCGANModel", "num_samples": 4,
                  "generator": {"name": "DCGANGenerator", "nz": 8, "ngf": 4, "output_nc": 1, "img_size": 28},
                  "discriminator": {"name": "DCGANDiscriminator", "input_nc": 1, "ndf": 4, "img_size": 28}},
        "dataset": {"train": dict(data, mode="train"), "test": dict(data, mode="test")},
        "optimizer": {"optimizer_G": {"name": "Adam", "net_names": ["netG"], "beta1": 0.5},
                      "optimizer_D": {"name": "Adam", "net_names": ["netD"], "beta1": 0.5}},
        "lr_scheduler": {"name": "LinearDecay", "learning_rate": 2e-4, "start_epoch": 2, "decay_epochs": 8},
        "log_config": {"interval": 1, "visiual_interval": 0},
        "snapshot_config": {"interval": 0, "max_keep": 3},
    }
    cfg.update(top)
    return resolve_config(cfg)


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    return write_tiny_mnist(tmp_path / "mnist")


@pytest.fixture
def make_cfg(tiny_data: Path, tmp_path: Path) -> Callable[..., Dict[str, Any]]:
    """``make_cfg(total_iters=6, ...)``: a resolved tiny DCGAN config writing under tmp_path."""
    return lambda **top: tiny_dcgan_config(tiny_data, tmp_path / "out", **top)
