"""The real DCGAN config with tiny overrides, and an idx dataset written per test (no ../shared data)."""
from pathlib import Path
from typing import Any, Callable, Dict

import numpy as np
import pytest

from ppgan_app.datasets.mnist import write_idx
from ppgan_app.utils.config import load_config, resolve_config


def write_tiny_mnist(folder: Path, n_train: int = 40, n_test: int = 16, seed: int = 0) -> Path:
    """Random 28x28 'digits' in MNIST idx format."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.RandomState(seed)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(str(folder / f"{prefix}-images-idx3-ubyte"), rng.randint(0, 256, (n, 28, 28)).astype(np.uint8))
        write_idx(str(folder / f"{prefix}-labels-idx1-ubyte"), (np.arange(n) % 10).astype(np.uint8))
    return folder


CONFIG = Path(__file__).resolve().parents[2] / "configs" / "dcgan_fashion_mnist.yaml"


def tiny_dcgan_config(data_root: Path, output_dir: Path, **top: Any) -> Dict[str, Any]:
    """configs/dcgan_fashion_mnist.yaml with tiny nets and a LinearDecay schedule (through -o
    overrides), then ``top``-level keys replaced by ``top``."""
    overrides = [
        f"dataset.train.data_root={data_root}", f"dataset.test.data_root={data_root}",
        f"output_dir={output_dir}", "total_iters=4", "seed=7",
        "model.generator.nz=8", "model.generator.ngf=4", "model.discriminator.ndf=4", "model.num_samples=4",
        "dataset.train.batch_size=8", "dataset.test.batch_size=8",
        "dataset.train.transforms=[{name: RandomHorizontalFlip}, {name: Resize, size: 32}, {name: Normalize}]",
        "lr_scheduler={name: LinearDecay, learning_rate: 2e-4, start_epoch: 2, decay_epochs: 8}",
        "log_config={interval: 1, visiual_interval: 0}", "snapshot_config={interval: 0, max_keep: 3}",
    ]
    cfg = load_config(CONFIG, overrides)
    cfg.update(top)
    return resolve_config(cfg)


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    return write_tiny_mnist(tmp_path / "mnist")


@pytest.fixture
def make_cfg(tiny_data: Path, tmp_path: Path) -> Callable[..., Dict[str, Any]]:
    """``make_cfg(total_iters=6, ...)``: a resolved tiny DCGAN config writing under tmp_path."""
    return lambda **top: tiny_dcgan_config(tiny_data, tmp_path / "out", **top)
