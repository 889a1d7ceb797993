"""Helpers for tests of kit-trained FOMM checkpoints: tiny motion data and a training checkpoint."""
from pathlib import Path

import cv2
import numpy as np
import yaml

TINY_TRAIN = Path(__file__).resolve().parents[1] / "fixtures" / "fomm" / "tiny_train.yaml"


def tiny_motion_data(root: Path, stills: int = 4, frames: int = 4) -> Path:
    """A small synthetic motion data set (32 px, generic motion, no landmarks)."""
    from ppgan_app.apps.fomm_training.motion_dataset import Still, make_motion_dataset

    rng = np.random.default_rng(0)
    images = [Still(f"s{i}", cv2.GaussianBlur(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8),
                                              (5, 5), 0)) for i in range(stills)]
    make_motion_dataset(root, images, size=32, frames=frames, train_clips=1, test_clips=1,
                        test_fraction=0.5, seed=0, landmarks=False)
    return root


def tiny_kit_checkpoint(path: Path, data_root: Path = Path("data"), seed: int = 0) -> Path:
    """A random-weight checkpoint in the trainer's format (nets + config) of the tiny config."""
    import paddle

    from ppgan_app.engine.checkpoint import save_checkpoint, training_state
    from ppgan_app.registries import MODELS
    from ppgan_app.utils.config import resolve_config
    from ppgan_app.utils.registry import build_from_config

    raw = yaml.safe_load(TINY_TRAIN.read_text())
    cfg = resolve_config(raw, [f"dataset.train.dataroot={data_root}",
                               f"dataset.test.dataroot={data_root}"])
    paddle.seed(seed)
    model = build_from_config(cfg["model"], MODELS)
    model.setup_optimizers(cfg["lr_scheduler"], cfg["optimizer"])
    return save_checkpoint(training_state(model, 0, cfg), path)
