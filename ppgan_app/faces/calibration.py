"""Measure how each detector's crops agree with BlazeFace's, and fit the box mappings.

Used by ``tools/face_crop_convention.py`` (prints the table) and by the test that holds the
agreement above a floor. The face set: ``skimage.data.astronaut()`` (also the bundled
portrait), frames of the bundled driving clip, the BlazeFace test images when given, faces from
``skimage.data.lfw_subset()`` (upscaled, on a grey canvas) and synthetic rotations, scales and
shifts of the portrait. A detector's face counts when it matches a BlazeFace face (IoU of the
crops > 0.3); the figure is the mean IoU of the final crops (mapping + PaddleGAN's margin rule).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from ppgan_app.faces.convention import BoxMapping

logger = logging.getLogger(__name__)

Image = Tuple[str, np.ndarray]  # (name, [H,W,3] uint8 RGB)


# ----------------------------------------------------------------------------- the face set

def _on_canvas(image: np.ndarray, canvas_hw: Tuple[int, int], xy: Tuple[int, int],
               fill: int = 96) -> np.ndarray:
    canvas = np.full(canvas_hw + (3,), fill, np.uint8)
    x, y = xy
    h = min(image.shape[0], canvas_hw[0] - y)
    w = min(image.shape[1], canvas_hw[1] - x)
    canvas[y:y + h, x:x + w] = image[:h, :w]
    return canvas


def _rotated(image: np.ndarray, degrees: float) -> np.ndarray:
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(image, matrix, (w, h), borderMode=cv2.BORDER_REFLECT)


def synthetic_variants(name: str, image: np.ndarray) -> Iterator[Image]:
    """Rotations (±8°, ±15°), scales (0.6, 0.8, 1.25) and off-centre placements of a portrait."""
    for degrees in (-15, -8, 8, 15):
        yield f"{name}_rot{degrees:+d}", _rotated(image, degrees)
    for scale in (0.6, 0.8, 1.25):
        resized = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        yield f"{name}_scale{scale}", resized
    small = cv2.resize(image, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    for xy in ((0, 0), (small.shape[1] // 2, small.shape[0] // 3)):
        yield f"{name}_shift{xy[0]}_{xy[1]}", _on_canvas(small, image.shape[:2], xy)


def face_set(blazeface_dir: Optional[Path] = None, lfw_faces: int = 24,
             driving_frames: int = 8) -> List[Image]:
    """The calibration images (see the module docstring), all ``[H,W,3] uint8`` RGB."""
    from skimage import data

    from importlib import resources

    from ppgan_app.apps.video_io import VideoReader

    assets = resources.files("ppgan_app") / "assets"
    # the bundled portrait is astronaut() itself: counted once
    images: List[Image] = [("astronaut", data.astronaut())]
    reader = VideoReader(str(assets / "fomm_driving.mp4"))
    frames = list(reader)
    step = max(1, len(frames) // driving_frames)
    images += [(f"driving_{i}", frames[i]) for i in range(0, len(frames), step)][:driving_frames]
    if blazeface_dir is not None:
        for name in ("1face", "3faces", "4faces"):
            path = Path(blazeface_dir) / f"{name}.png"
            if path.is_file():
                images.append((name, cv2.imread(str(path))[..., ::-1].copy()))
    lfw = data.lfw_subset()[:lfw_faces]  # [n,25,25] grey faces in [0, 1]
    for i, face in enumerate(lfw):
        big = cv2.resize((face * 255).astype(np.uint8), (150, 150), interpolation=cv2.INTER_CUBIC)
        images.append((f"lfw_{i}", _on_canvas(np.repeat(big[..., None], 3, 2), (300, 300),
                                              (75, 60))))
    images += list(synthetic_variants("astronaut", data.astronaut()))
    return images


# ----------------------------------------------------------------------------- measuring

def crop_of(face: Sequence[float], image_hw: Tuple[int, int]) -> Tuple[int, int, int, int]:
    """PaddleGAN's margin-rule crop of one face box."""
    from ppgan_app.faces.crop import face_crop_box

    return face_crop_box(face, image_hw)


def match(ref: np.ndarray, other: np.ndarray, image_hw: Tuple[int, int],
          min_iou: float = 0.3) -> List[Tuple[int, int]]:
    """Greedy one-to-one matches ``(ref index, other index)`` by crop IoU > ``min_iou``."""
    from ppgan_app.faces.detectors.base import box_iou_matrix

    if len(ref) == 0 or len(other) == 0:
        return []
    crops_r = np.array([crop_of(f, image_hw) for f in ref], np.float64)
    crops_o = np.array([crop_of(f, image_hw) for f in other], np.float64)
    ious = box_iou_matrix(crops_r, crops_o)
    pairs = []
    while ious.size and ious.max() > min_iou:
        i, j = np.unravel_index(np.argmax(ious), ious.shape)
        pairs.append((int(i), int(j)))
        ious[i, :] = -1
        ious[:, j] = -1
    return pairs


@dataclass
class Pair:
    """One face seen by BlazeFace (``ref``) and by another detector (``raw``, own framing)."""

    image: str
    image_hw: Tuple[int, int]
    ref: np.ndarray
    raw: np.ndarray


@dataclass
class DetectorReport:
    """How one detector's crops agree with BlazeFace's."""

    name: str
    reference_faces: int
    pairs: List[Pair] = field(default_factory=list)
    mapping: BoxMapping = BoxMapping()

    def crop_ious(self, mapping: Optional[BoxMapping] = None) -> np.ndarray:
        """IoU of each matched face's final crop with BlazeFace's crop (``None``: raw boxes)."""
        from ppgan_app.faces.detectors.base import box_iou_matrix

        out = []
        for p in self.pairs:
            mapped = p.raw if mapping is None else mapping.apply(p.raw[None])[0]
            a = np.array([crop_of(p.ref, p.image_hw)], np.float64)
            b = np.array([crop_of(mapped, p.image_hw)], np.float64)
            out.append(box_iou_matrix(a, b)[0, 0])
        return np.array(out)


def collect_pairs(images: Sequence[Image], reference: Callable, detectors: Dict[str, Callable]
                  ) -> Dict[str, DetectorReport]:
    """Run BlazeFace (``reference``) and every detector on every image; match their faces."""
    reports = {name: DetectorReport(name, 0) for name in detectors}
    for image_name, image in images:
        hw = image.shape[:2]
        ref = reference(image)
        for name, detect in detectors.items():
            reports[name].reference_faces += len(ref)
            found = detect(image)
            for i, j in match(ref, found, hw):
                reports[name].pairs.append(Pair(image_name, hw, ref[i], found[j]))
    return reports


def fit_mapping(pairs: Sequence[Pair]) -> BoxMapping:
    """Centre offsets: medians (in units of the detector's box side); reference side: least
    squares on the box width and height."""
    if not pairs:
        return BoxMapping()
    raw = np.array([p.raw[:4] for p in pairs], np.float64)
    ref = np.array([p.ref[:4] for p in pairs], np.float64)
    w, h = raw[:, 2] - raw[:, 0], raw[:, 3] - raw[:, 1]
    unit = np.maximum(w, h)
    ref_side = np.maximum(ref[:, 2] - ref[:, 0], ref[:, 3] - ref[:, 1])
    dx = ((ref[:, 0] + ref[:, 2]) - (raw[:, 0] + raw[:, 2])) / 2 / unit
    dy = ((ref[:, 1] + ref[:, 3]) - (raw[:, 1] + raw[:, 3])) / 2 / unit
    if np.std(w / h) < 0.01:  # square boxes (dlib): one ratio
        kw, kh = 0.0, float(np.median(ref_side / h))
    else:
        (kw, kh), *_ = np.linalg.lstsq(np.stack([w, h], 1), ref_side, rcond=None)
    return BoxMapping(round(float(np.median(dx)), 3), round(float(np.median(dy)), 3),
                      round(float(kw), 3), round(float(kh), 3))


def cross_validated_ious(report: DetectorReport, folds: int = 2) -> np.ndarray:
    """Crop IoUs with mappings fitted on the other folds (folds split by image name)."""
    names = sorted({p.image for p in report.pairs})
    out = []
    for k in range(folds):
        held = set(names[k::folds])
        train = [p for p in report.pairs if p.image not in held]
        test = DetectorReport(report.name, 0, [p for p in report.pairs if p.image in held])
        out.append(test.crop_ious(fit_mapping(train)))
    return np.concatenate(out) if out else np.zeros(0)
