"""First Order Motion Model videos (PaddleGAN's ``FirstOrderDataset`` layout and keys).

Layout (as produced by FOMM's VoxCeleb preprocessing)::

    <dataroot>/train/<video>    one entry per video: a .mp4/.gif/.mov file, or a folder of
    <dataroot>/test/<video>     .png/.jpg frames (the faster form for training)

VoxCeleb names start with the person id (``id10001#7w0IBEWc9Qw#000993#001143.mp4``); with
``id_sampling`` a training item is a person, and each draw takes one of that person's videos.

Items:
    train: ``{"source": [3, H, W], "driving": [3, H, W]}`` float32 in [0, 1]: two random frames
        of one video (source the earlier one unless time-flipped), augmented alike.
    test: ``{"video": [3, T, H, W]}`` float32 in [0, 1]: the whole video (FOMM's reconstruction
        protocol drives every frame from frame 0); use ``batch_size: 1``, lengths differ.
(H, W) is ``frame_shape[:2]``; frames of another size are resized.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
from paddle.io import Dataset

from ppgan_app.datasets.clip_augment import augmentation_from_paddlegan, build_clip_augmentation
from ppgan_app.datasets.video_frames import (FRAME_EXTENSIONS, VIDEO_EXTENSIONS, count_video_frames,
                                             frame_files, list_videos, read_image,
                                             read_video_frames, read_whole_video, resize_frame)
from ppgan_app.registries import DATASETS
from ppgan_app.utils.config import merge

logger = logging.getLogger(__name__)

PREPROCESSING_URL = "https://github.com/AliaksandrSiarohin/video-preprocessing"
PHASES = ("train", "test")


def layout_help(dataroot: Path) -> str:
    """What the data folder must hold and where VoxCeleb comes from (for error messages)."""
    return (f"expected {dataroot}/train/ and {dataroot}/test/, each with one entry per video: "
            f"a {'/'.join(VIDEO_EXTENSIONS)} file or a folder of {'/'.join(FRAME_EXTENSIONS)} frames. "
            f"This kit downloads no data: prepare VoxCeleb with the First Order Motion Model "
            f"preprocessing scripts ({PREPROCESSING_URL}), as PaddleGAN's docs advise, then set "
            f"-o dataset.train.dataroot=<folder> dataset.test.dataroot=<folder>")


def find_split_videos(dataroot: Path, phase: str) -> List[Path]:
    """Video entries of ``dataroot/phase``; a clear ``FileNotFoundError`` when absent or empty."""
    folder = dataroot / phase
    if not folder.is_dir():
        raise FileNotFoundError(f"FOMM data folder {folder.resolve()} not found; {layout_help(dataroot)}")
    videos = list_videos(folder)
    if not videos:
        raise FileNotFoundError(f"FOMM data folder {folder.resolve()} holds no videos; "
                                f"{layout_help(dataroot)}")
    return videos


def person_id(video: Path) -> str:
    """VoxCeleb person id: the part of the name before the first ``#``."""
    return video.name.split("#", 1)[0]


def group_by_person(videos: Sequence[Path]) -> Dict[str, List[Path]]:
    """``{person id: [videos]}``, ids sorted."""
    groups: Dict[str, List[Path]] = defaultdict(list)
    for video in videos:
        groups[person_id(video)].append(video)
    return dict(sorted(groups.items()))


def frames_to_chw(frame: np.ndarray) -> np.ndarray:
    """``[H, W, 3]`` float32 in [0, 1] -> ``[3, H, W]`` float32 (contiguous)."""
    return np.ascontiguousarray(frame.transpose(2, 0, 1), dtype=np.float32)


def _is_unset(value: Any) -> bool:
    """PaddleGAN writes ``pairs_list: None`` in YAML, which is the string 'None'."""
    return value is None or value is False or value == "None"


@DATASETS.register
class FirstOrderDataset(Dataset):
    """Videos for FOMM training (frame pairs) and reconstruction (whole videos).

    Args:
        dataroot: folder with ``train/`` and ``test/`` (see the module docstring).
        phase: ``"train"`` or ``"test"``.
        frame_shape: ``[H, W]`` or ``[H, W, 3]`` of the items.
        id_sampling: train on person ids (VoxCeleb) instead of videos.
        num_repeats: train epochs are this many passes over the videos (or ids).
        augmentation_params: FOMM's ``{flip_param, jitter_param}`` (train only).
        time_flip: PaddleGAN's key, same as ``flip_param.time_flip``.
        transforms: PaddleGAN's list (``PairedRandomHorizontalFlip``, ``PairedColorJitter``).
        max_frames: test only: keep the first ``max_frames`` frames of each video (None: all,
            FOMM's protocol).
        pairs_list, create_frames_folder, use_shared_memory: PaddleGAN keys accepted for
            config compatibility; only the unset values are supported (the last is ignored).
    """

    def __init__(self, dataroot: str, phase: str = "train", frame_shape: Sequence[int] = (256, 256, 3),
                 id_sampling: bool = False, num_repeats: int = 1,
                 augmentation_params: Optional[Mapping[str, Any]] = None,
                 time_flip: Optional[bool] = None,
                 transforms: Optional[Sequence[Mapping[str, Any]]] = None,
                 max_frames: Optional[int] = None, pairs_list: Any = None,
                 create_frames_folder: bool = False, use_shared_memory: Any = None) -> None:
        super().__init__()
        if phase not in PHASES:
            raise ValueError(f"FirstOrderDataset phase must be one of {PHASES}, got {phase!r}")
        if not _is_unset(pairs_list) or create_frames_folder:
            raise ValueError("FirstOrderDataset: pairs_list and create_frames_folder are not supported "
                             "(store videos as frames folders yourself for faster training)")
        self.phase, self.is_train = phase, phase == "train"
        self.height, self.width = self._check_shape(frame_shape)
        self.dataroot = Path(dataroot)
        self.videos = find_split_videos(self.dataroot, phase)
        self.id_sampling = bool(id_sampling) and self.is_train
        self.by_person = group_by_person(self.videos) if self.id_sampling else {}
        self.persons = list(self.by_person)
        self.num_repeats = int(num_repeats) if self.is_train else 1
        if self.num_repeats < 1:
            raise ValueError(f"num_repeats must be >= 1, got {num_repeats}")
        self.max_frames = max_frames
        params = merge(augmentation_from_paddlegan(transforms, time_flip), augmentation_params or {})
        self.augment = build_clip_augmentation(params) if self.is_train else None
        self._frame_counts: Dict[Path, int] = {}
        logger.info("FOMM %s set %s: %d videos%s, x%d repeats", phase, self.dataroot / phase,
                    len(self.videos), f" of {len(self.persons)} persons" if self.id_sampling else "",
                    self.num_repeats)

    @staticmethod
    def _check_shape(frame_shape: Sequence[int]) -> Tuple[int, int]:
        shape = [int(v) for v in frame_shape]
        if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] != 3) or min(shape[:2]) < 1:
            raise ValueError(f"frame_shape must be [H, W] or [H, W, 3], got {list(frame_shape)}")
        return shape[0], shape[1]

    def __len__(self) -> int:
        units = len(self.persons) if self.id_sampling else len(self.videos)
        return units * self.num_repeats

    def __getitem__(self, index: int) -> Dict[str, np.ndarray]:
        if not self.is_train:
            return {"video": self.read_test_video(self.videos[index])}
        return self.read_train_pair(self.pick_video(index))

    # --- training -------------------------------------------------------------------------
    def pick_video(self, index: int) -> Path:
        """The video of item ``index``: a random video of the person when id-sampling."""
        if not self.id_sampling:
            return self.videos[index % len(self.videos)]
        videos = self.by_person[self.persons[index % len(self.persons)]]
        return videos[np.random.randint(len(videos))]

    def read_train_pair(self, video: Path) -> Dict[str, np.ndarray]:
        """Two random frames (sorted in time, repeats possible) -> augmented source/driving."""
        frames = self._two_random_frames(video)
        frames = [resize_frame(f, self.height, self.width).astype(np.float32) / 255.0 for f in frames]
        if self.augment is not None and self.augment.active:
            frames = self.augment(frames)
        return {"source": frames_to_chw(frames[0]), "driving": frames_to_chw(frames[1])}

    def _two_random_frames(self, video: Path) -> List[np.ndarray]:
        """``[H, W, 3]`` uint8 frames; a frames folder reads only these two files."""
        if video.is_dir():
            files = frame_files(video)
            return [read_image(files[i]) for i in self._draw_pair(len(files))]
        if video not in self._frame_counts:
            self._frame_counts[video] = count_video_frames(video)
        return read_video_frames(video, self._draw_pair(self._frame_counts[video]))

    @staticmethod
    def _draw_pair(count: int) -> List[int]:
        return sorted(int(i) for i in np.random.choice(count, size=2, replace=True))

    # --- evaluation -----------------------------------------------------------------------
    def read_test_video(self, video: Path) -> np.ndarray:
        """A whole video -> ``[3, T, H, W]`` float32 in [0, 1]."""
        frames = read_whole_video(video, self.max_frames)
        clip = np.stack([resize_frame(f, self.height, self.width) for f in frames])
        return np.ascontiguousarray(clip.transpose(3, 0, 1, 2), dtype=np.float32) / 255.0
