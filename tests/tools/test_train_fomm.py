"""FOMM training through tools/main.py: the configs' dataset sections, and a 2-iteration run of
a tiny architecture (random VGG19) whose checkpoint feeds the inference networks."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import List

import cv2
import imageio
import numpy as np
import pytest
import yaml

from ppgan_app.engine.data import build_loader
from ppgan_app.weights.fomm import load_fomm
from ppgan_app.utils.config import load_config, resolve_config

REPO = Path(__file__).resolve().parents[2]
MAIN = REPO / "tools" / "main.py"
FOMM_CONFIGS = ["firstorder_vox_256", "firstorder_vox_mobile_256", "firstorder_vox_512"]

TINY = [  # the vox-256 config shrunk: 64x64 frames, 4 keypoints, narrow nets, 2 pyramid scales
    "dataset.train.frame_shape=[64,64,3]", "dataset.test.frame_shape=[64,64,3]",
    "dataset.train.batch_size=2", "dataset.train.num_workers=0", "dataset.test.num_workers=0",
    "dataset.train.num_repeats=2",
    "model.generator.vgg_weights=null", "model.common_params.num_kp=4",
    "model.generator.kp_detector_cfg.block_expansion=8", "model.generator.kp_detector_cfg.max_features=32",
    "model.generator.kp_detector_cfg.num_blocks=3",
    "model.generator.generator_cfg.block_expansion=8", "model.generator.generator_cfg.max_features=32",
    "model.generator.generator_cfg.num_bottleneck_blocks=1",
    "model.generator.generator_cfg.dense_motion_params.block_expansion=8",
    "model.generator.generator_cfg.dense_motion_params.max_features=32",
    "model.generator.generator_cfg.dense_motion_params.num_blocks=3",
    "model.discriminator.discriminator_cfg.block_expansion=8",
    "model.discriminator.discriminator_cfg.max_features=32",
    "model.discriminator.discriminator_cfg.num_blocks=3",
    "model.train_params.scales=[1,0.5]",
    "total_iters=2", "log_config.interval=1", "log_config.visiual_interval=2",
    "snapshot_config.interval=2", "validate.interval=2",
]


def clip(frames: int = 5, size: int = 48) -> List[np.ndarray]:
    """A textured patch sliding right by 2 px per frame, ``[size, size, 3]`` uint8."""
    base = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
    return [np.roll(base, 2 * t, axis=1) for t in range(frames)]


@pytest.fixture(scope="module")
def vox(tmp_path_factory) -> Path:
    """train/: an mp4 and a frames folder of two persons; test/: one 3-frame mp4."""
    root = tmp_path_factory.mktemp("data") / "Voxceleb"
    (root / "train" / "id2#b#0#5").mkdir(parents=True)
    (root / "test").mkdir()
    imageio.mimwrite(str(root / "train" / "id1#a#0#5.mp4"), clip(), fps=25, macro_block_size=1)
    for t, frame in enumerate(clip()):
        cv2.imwrite(str(root / "train" / "id2#b#0#5" / f"{t:04d}.png"), frame[:, :, ::-1])
    imageio.mimwrite(str(root / "test" / "id3#c#0#3.mp4"), clip(3), fps=25, macro_block_size=1)
    return root


def data_overrides(root: Path) -> List[str]:
    return [f"dataset.train.dataroot={root}", f"dataset.test.dataroot={root}"]


@pytest.mark.parametrize("name", FOMM_CONFIGS)
def test_fomm_config_builds_its_datasets(name, vox):
    cfg = load_config(REPO / "configs" / f"{name}.yaml", data_overrides(vox))
    side = cfg["dataset"]["train"]["frame_shape"][0]
    assert cfg["validate"]["metrics"]["l1"]["name"] == "MeanAbsoluteError"
    train, _ = build_loader(cfg["dataset"]["train"], train=True, seed=0)
    assert len(train.dataset) == 2 * 75   # two persons (id sampling) x num_repeats
    np.random.seed(0)
    item = train.dataset[0]
    assert item["source"].shape == item["driving"].shape == (3, side, side)
    test, _ = build_loader(cfg["dataset"]["test"], train=False, seed=0)
    assert test.dataset[0]["video"].shape == (3, 3, side, side)


def test_paddlegan_fomm_keys_are_accepted(vox):
    data = yaml.safe_load((REPO / "configs" / "firstorder_vox_256.yaml").read_text())
    data["reconstruction_params"] = {"num_videos": 10, "format": ".mp4"}
    data["animate_params"] = {"num_pairs": 5, "normalization_params": {"use_relative_movement": True}}
    data["visualizer_params"] = {"kp_size": 3}
    train = data["dataset"]["train"]
    del train["augmentation_params"]
    train.update(time_flip=True, pairs_list="None", create_frames_folder=False, use_shared_memory=False,
                 transforms=[{"name": "PairedRandomHorizontalFlip", "prob": 0.5},
                             {"name": "PairedColorJitter", "brightness": 0.1, "contrast": 0.1,
                              "saturation": 0.1, "hue": 0.1}])
    cfg = resolve_config(data, data_overrides(vox))
    loader, _ = build_loader(cfg["dataset"]["train"], train=True, seed=0)
    assert loader.dataset.augment.time_flip_prob == 0.5 and loader.dataset.augment.jitter["hue"] == 0.1


def test_two_iterations_through_tools_main(tmp_path, vox):
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(MAIN), "-c", str(REPO / "configs" / "firstorder_vox_256.yaml"), "--seed", "1",
         "-o", *data_overrides(vox), f"output_dir={out}", *TINY],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "iter 2/2" in proc.stderr and "perceptual" in proc.stderr
    assert "validation at iteration 2: l1 " in proc.stderr
    (run,) = out.iterdir()
    assert (run / "visual" / "iter_0000002_prediction.png").is_file()
    ckpt = run / "iter_0000002_checkpoint.pdparams"
    assert ckpt.is_file()
    saved = yaml.safe_load((run / "config.yaml").read_text())
    load_fomm(str(ckpt), saved)   # the run's config.yaml; strict: raises on any mismatch


def test_missing_data_is_a_clear_user_error(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(MAIN), "-c", str(REPO / "configs" / "firstorder_vox_256.yaml"),
         "-o", f"output_dir={tmp_path / 'out'}", *TINY],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "data/first_order/Voxceleb/train not found" in proc.stderr
    assert "video-preprocessing" in proc.stderr
