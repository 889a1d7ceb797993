"""FirstOrderDataset on tiny synthetic videos: .mp4/.gif files and frames folders."""
from __future__ import annotations

from pathlib import Path
from typing import List

import cv2
import imageio
import numpy as np
import pytest

from ppgan_app.datasets import first_order
from ppgan_app.datasets.clip_augment import ClipAugmentation, augmentation_from_paddlegan
from ppgan_app.datasets.first_order import FirstOrderDataset
from ppgan_app.datasets.video_frames import frame_files, read_video_frames
from ppgan_app.metrics.reconstruction import MeanAbsoluteError

SIZE, FRAMES = 40, 6   # stored frames are 40x40; items are resized to 32x32


def grey(t: int) -> int:
    return 10 + 20 * t


def clip(frames: int = FRAMES) -> List[np.ndarray]:
    """Frame t: a flat grey of level ``grey(t)`` with a small coloured square (not symmetric)."""
    out = []
    for t in range(frames):
        frame = np.full((SIZE, SIZE, 3), grey(t), dtype=np.uint8)
        frame[4:12, 4:12] = (200, 40, 90)
        out.append(frame)
    return out


def write_frames_folder(folder: Path, frames: List[np.ndarray]) -> None:
    folder.mkdir(parents=True)
    for t, frame in enumerate(frames):   # un-padded names: 0.png ... 10.png must sort by number
        cv2.imwrite(str(folder / f"{t}.png"), frame[:, :, ::-1])


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """train/: an mp4, a gif and a frames folder of two persons; test/: an mp4 and a folder."""
    data = tmp_path / "vox"
    for split in ("train", "test"):
        (data / split).mkdir(parents=True)
    imageio.mimwrite(str(data / "train" / "id1#a#0#6.mp4"), clip(), fps=25, macro_block_size=1)
    imageio.mimwrite(str(data / "train" / "id1#b#0#6.gif"), clip(), duration=40)
    write_frames_folder(data / "train" / "id2#c#0#6", clip())
    imageio.mimwrite(str(data / "test" / "id3#d#0#6.mp4"), clip(), fps=25, macro_block_size=1)
    write_frames_folder(data / "test" / "id4#e#0#11", clip(11))
    (data / "train" / ".DS_Store").write_bytes(b"")
    return data


def only(root: Path, split: str, keep: str) -> Path:
    """Delete every video of ``root/split`` whose name does not start with ``keep``."""
    for entry in (root / split).iterdir():
        if not entry.name.startswith(keep):
            if entry.is_dir():
                for f in entry.iterdir():
                    f.unlink()
                entry.rmdir()
            else:
                entry.unlink()
    return root


def level(chw: np.ndarray) -> float:
    """The grey level (0..255) of a [3, H, W] item frame, away from the square."""
    return float(chw[:, 20:, 20:].mean() * 255)


@pytest.mark.parametrize("keep", ["id1#a", "id1#b", "id2#c"], ids=["mp4", "gif", "frames"])
def test_train_items(root, keep):
    ds = FirstOrderDataset(str(only(root, "train", keep)), "train", frame_shape=[32, 32, 3], num_repeats=3)
    assert len(ds) == 3
    np.random.seed(0)
    for i in range(len(ds)):
        item = ds[i]
        assert set(item) == {"source", "driving"}
        for frame in item.values():
            assert frame.shape == (3, 32, 32) and frame.dtype == np.float32
            assert 0.0 <= frame.min() and frame.max() <= 1.0
        # source is the earlier of the two frames; both are frames of the clip
        src, drv = level(item["source"]), level(item["driving"])
        assert src <= drv + 3
        assert min(abs(src - grey(t)) for t in range(FRAMES)) < 4


def test_frames_folder_reads_only_two_files(root, monkeypatch):
    calls = []
    real = first_order.read_image
    monkeypatch.setattr(first_order, "read_image", lambda path: calls.append(path) or real(path))
    ds = FirstOrderDataset(str(only(root, "train", "id2")), "train", frame_shape=[32, 32])
    ds[0]
    assert len(calls) == 2


def test_frames_folder_sorts_by_number(root):
    names = [p.name for p in frame_files(root / "test" / "id4#e#0#11")]
    assert names == [f"{t}.png" for t in range(11)]


def test_video_file_frames_by_index(root):
    frames = read_video_frames(root / "train" / "id1#a#0#6.mp4", [4, 1, 4])
    assert [round((float(f[20:, 20:].mean()) - grey(0)) / 20) for f in frames] == [4, 1, 4]


def test_test_items_are_whole_videos(root):
    ds = FirstOrderDataset(str(root), "test", frame_shape=[32, 32, 3], num_repeats=9)
    assert len(ds) == 2   # no repeats, no id sampling at test time
    lengths = sorted(ds[i]["video"].shape[1] for i in range(2))
    assert lengths == [FRAMES, 11]
    video = ds[0]["video"]
    assert video.shape[0] == 3 and video.shape[2:] == (32, 32) and video.dtype == np.float32
    assert 0.0 <= video.min() and video.max() <= 1.0
    levels = [level(video[:, t]) for t in range(video.shape[1])]
    assert np.all(np.diff(levels) > 15)   # in temporal order
    short = FirstOrderDataset(str(root), "test", frame_shape=[32, 32], max_frames=4)
    assert all(short[i]["video"].shape[1] == 4 for i in range(2))


def test_id_sampling(root):
    ds = FirstOrderDataset(str(root), "train", frame_shape=[32, 32], id_sampling=True, num_repeats=5)
    assert ds.persons == ["id1", "id2"] and len(ds) == 10
    np.random.seed(1)
    picked = {ds.pick_video(0).name for _ in range(20)}
    assert picked == {"id1#a#0#6.mp4", "id1#b#0#6.gif"}
    assert ds.pick_video(1).name == "id2#c#0#6"


def test_augmentation_keeps_shapes_and_range(root):
    aug = {"flip_param": {"horizontal_flip": True, "time_flip": True},
           "jitter_param": {"brightness": 0.3, "contrast": 0.3, "saturation": 0.3, "hue": 0.2}}
    ds = FirstOrderDataset(str(root), "train", frame_shape=[32, 32, 3], augmentation_params=aug)
    np.random.seed(2)
    for i in range(len(ds)):
        for frame in ds[i].values():
            assert frame.shape == (3, 32, 32) and frame.dtype == np.float32
            assert 0.0 <= frame.min() and frame.max() <= 1.0


def test_flips_and_jitter_are_shared_by_the_pair():
    rng = np.random.default_rng(0)
    a, b = (rng.uniform(0, 1, (8, 10, 3)).astype(np.float32) for _ in range(2))
    flip = ClipAugmentation({"horizontal_flip": 1.0, "time_flip": 1.0})
    out = flip([a, b])
    np.testing.assert_array_equal(out[0], b[:, ::-1])
    np.testing.assert_array_equal(out[1], a[:, ::-1])
    jitter = ClipAugmentation(jitter_param={"brightness": 0.5, "contrast": 0.5, "saturation": 0.5, "hue": 0.3})
    np.random.seed(3)
    same = jitter([a, a.copy()])
    np.testing.assert_array_equal(same[0], same[1])
    assert same[0].shape == a.shape and not np.allclose(same[0], a)
    assert not ClipAugmentation().active


def test_hue_shift_by_a_full_turn_is_identity():
    rng = np.random.default_rng(1)
    frame = rng.uniform(0, 1, (6, 6, 3)).astype(np.float32)
    factors = {"brightness": 1.0, "contrast": 1.0, "saturation": 1.0, "hue": 0.5}
    twice = ClipAugmentation.apply_jitter(ClipAugmentation.apply_jitter(frame, factors), factors)
    np.testing.assert_allclose(twice, frame, atol=1e-4)


def test_paddlegan_keys(root):
    transforms = [{"name": "PairedRandomHorizontalFlip", "prob": 0.5, "keys": ["image", "image"]},
                  {"name": "PairedColorJitter", "brightness": 0.1, "contrast": 0.1, "saturation": 0.1,
                   "hue": 0.1, "keys": ["image", "image"]}]
    params = augmentation_from_paddlegan(transforms, time_flip=True)
    assert params == {"flip_param": {"time_flip": True, "horizontal_flip": 0.5},
                      "jitter_param": {"brightness": 0.1, "contrast": 0.1, "saturation": 0.1, "hue": 0.1}}
    ds = FirstOrderDataset(str(root), "train", frame_shape=[32, 32, 3], transforms=transforms,
                           time_flip=True, pairs_list="None", create_frames_folder=False,
                           use_shared_memory=False)
    assert ds.augment.time_flip_prob == 0.5 and ds.augment.hflip_prob == 0.5
    with pytest.raises(ValueError, match="PairedRandomCrop"):
        augmentation_from_paddlegan([{"name": "PairedRandomCrop"}], None)
    with pytest.raises(ValueError, match="not supported"):
        FirstOrderDataset(str(root), "train", pairs_list="pairs.csv")
    with pytest.raises(ValueError, match="unknown key"):
        FirstOrderDataset(str(root), "train", augmentation_params={"rotation_param": {"degrees": 5}})


def test_missing_or_empty_folders_explain_the_layout(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        FirstOrderDataset(str(tmp_path / "nowhere"), "train")
    text = str(err.value)
    assert "nowhere/train" in text and "test/" in text and ".mp4" in text and "frames" in text
    assert "video-preprocessing" in text and "dataset.train.dataroot" in text
    (tmp_path / "vox" / "train").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="holds no videos"):
        FirstOrderDataset(str(tmp_path / "vox"), "train")
    with pytest.raises(FileNotFoundError, match="vox/test not found"):
        FirstOrderDataset(str(tmp_path / "vox"), "test")
    (tmp_path / "vox" / "train" / "id1#empty").mkdir()
    ds = FirstOrderDataset(str(tmp_path / "vox"), "train")
    with pytest.raises(FileNotFoundError, match="holds no .png"):
        ds[0]


def test_bad_arguments(root):
    with pytest.raises(ValueError, match="phase"):
        FirstOrderDataset(str(root), "val")
    with pytest.raises(ValueError, match="frame_shape"):
        FirstOrderDataset(str(root), "train", frame_shape=[32, 32, 4])


def test_mean_absolute_error_metric():
    metric = MeanAbsoluteError()
    metric.update(np.zeros((2, 3, 4, 4)), np.full((2, 3, 4, 4), 0.25))
    metric.update(np.ones((1, 3, 4, 4)), np.ones((1, 3, 4, 4)))
    assert metric.accumulate() == pytest.approx((0.25 * 2 + 0) / 3)
    metric.reset()
    assert np.isnan(metric.accumulate())
