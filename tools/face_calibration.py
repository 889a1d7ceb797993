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

from ppgan_app.faces.convention import FEATURES, FramingModel, face_features

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


#: skimage's ``lfw_subset()`` holds 100 faces (then 100 non-faces).
LFW_FACES = 100


def lfw_faces_on_canvas(start: int, stop: int) -> List[Image]:
    """LFW faces ``start..stop-1`` (25 px grey crops) upscaled to 150 px on a grey 300 px
    canvas, named ``lfw_<index>``."""
    from skimage import data

    faces = data.lfw_subset()[start:min(stop, LFW_FACES)]  # [n,25,25] grey in [0, 1]
    out = []
    for i, face in enumerate(faces, start):
        big = cv2.resize((face * 255).astype(np.uint8), (150, 150), interpolation=cv2.INTER_CUBIC)
        out.append((f"lfw_{i}", _on_canvas(np.repeat(big[..., None], 3, 2), (300, 300), (75, 60))))
    return out


def held_out_set(fitted_lfw_faces: int = 24) -> List[Image]:
    """Faces never used in fitting: the LFW faces after the first ``fitted_lfw_faces``."""
    return lfw_faces_on_canvas(fitted_lfw_faces, LFW_FACES)


def face_set(blazeface_dir: Optional[Path] = None, lfw_faces: int = 24,
             driving_frames: int = 8) -> List[Image]:
    """The calibration images (see the module docstring), all ``[H,W,3] uint8`` RGB."""
    from skimage import data

    from importlib import resources

    from ppgan_app.media.video import VideoReader

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
    images += lfw_faces_on_canvas(0, lfw_faces)
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
    """One face seen by BlazeFace (``ref``) and by another detector (``raw``, own framing;
    ``points``: its landmarks ``[P,2]`` when it gives them)."""

    image: str
    image_hw: Tuple[int, int]
    ref: np.ndarray
    raw: np.ndarray
    points: Optional[np.ndarray] = None


#: Image-name prefix -> the source it comes from (see :func:`face_set`).
SOURCES = (("astronaut_", "synthetic"), ("astronaut", "astronaut"), ("driving_", "driving clip"),
           ("lfw_", "lfw"), ("1face", "blazeface test"), ("3faces", "blazeface test"),
           ("4faces", "blazeface test"))


def source_of(image_name: str) -> str:
    """The source of a calibration image (``synthetic``, ``lfw``, ...)."""
    for prefix, source in SOURCES:
        if image_name.startswith(prefix):
            return source
    return "other"


@dataclass
class DetectorReport:
    """How one detector's crops agree with BlazeFace's."""

    name: str
    reference_faces: int
    pairs: List[Pair] = field(default_factory=list)

    @property
    def has_landmarks(self) -> bool:
        """Whether every matched face came with landmarks."""
        return bool(self.pairs) and all(p.points is not None for p in self.pairs)

    def subset(self, keep: Callable[[Pair], bool]) -> "DetectorReport":
        """The same report restricted to the pairs ``keep`` accepts."""
        return DetectorReport(self.name, self.reference_faces, [p for p in self.pairs if keep(p)])

    def crop_ious(self, mapping: Optional[FramingModel] = None) -> np.ndarray:
        """IoU ``[n]`` of each matched face's final crop with BlazeFace's crop (``None``: raw
        boxes)."""
        from ppgan_app.faces.detectors.base import box_iou_matrix

        out = []
        for p in self.pairs:
            if mapping is None:
                mapped = p.raw
            else:
                points = p.points[None] if mapping.needs_landmarks else None
                mapped = mapping.apply(p.raw[None], points)[0]
            a = np.array([crop_of(p.ref, p.image_hw)], np.float64)
            b = np.array([crop_of(mapped, p.image_hw)], np.float64)
            out.append(box_iou_matrix(a, b)[0, 0])
        return np.array(out)


def _detect(detector: Callable, image: np.ndarray) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    with_landmarks = getattr(detector, "detect_with_landmarks", None)
    if with_landmarks is None:
        return detector(image), None
    return with_landmarks(image)


def collect_pairs(images: Sequence[Image], reference: Callable, detectors: Dict[str, Callable]
                  ) -> Dict[str, DetectorReport]:
    """Run BlazeFace (``reference``) and every detector on every image; match their faces.
    Detectors with a ``detect_with_landmarks`` method keep each face's landmarks."""
    reports = {name: DetectorReport(name, 0) for name in detectors}
    for image_name, image in images:
        hw = image.shape[:2]
        ref = reference(image)
        for name, detect in detectors.items():
            reports[name].reference_faces += len(ref)
            found, points = _detect(detect, image)
            for i, j in match(ref, found, hw):
                reports[name].pairs.append(Pair(image_name, hw, ref[i], found[j],
                                                None if points is None else points[j]))
    return reports


# ----------------------------------------------------------------------------- fitting

#: The features of each fitted model (see ppgan_app.faces.convention). From the box alone: the
#: aspect carries the size, the centre offset is a constant. With landmarks, the centre follows
#: the landmarks' centroid (and, across the face, the nose tip: it moves with the head's turn);
#: the size comes from YuNet's box (a continuous regression) but from dlib's eye distance (its
#: HOG box sizes come in pyramid steps of about 20%).
BOX_MODEL = {"size": ("log_aspect",), "centre_x": (), "centre_y": ()}
LANDMARK_MODELS = {
    "yunet": {"size": ("log_aspect",), "centre_x": ("centroid_x", "nose_x"),
              "centre_y": ("centroid_y",)},
    "dlib": {"size": ("log_eyes",), "centre_x": ("centroid_x", "nose_x"),
             "centre_y": ("centroid_y",)},
}
ModelSpec = Dict[str, Sequence[str]]


def model_spec(detector: str, landmarks: bool) -> ModelSpec:
    """The features fitted for ``detector`` (box alone, or with landmarks)."""
    if not landmarks:
        return BOX_MODEL
    return LANDMARK_MODELS.get(detector, LANDMARK_MODELS["yunet"])


#: Ridge penalty on the non-intercept coefficients (features are O(0.1-1); it only keeps a
#: feature that hardly varies, like dlib's always-square aspect, from taking a wild weight).
RIDGE = 1e-3


def _least_squares(columns: Sequence[np.ndarray], target: np.ndarray) -> np.ndarray:
    design = np.stack([np.ones_like(target)] + list(columns), axis=1)
    penalty = RIDGE * np.eye(design.shape[1])
    penalty[0, 0] = 0.0
    return np.linalg.solve(design.T @ design + penalty, design.T @ target)


#: Each feature is clipped at run time to the range seen in fitting, widened by this fraction
#: of its width on each side (mild extrapolation allowed; a profile face is not taken far).
RANGE_MARGIN = 0.25


def _widened(values: np.ndarray, margin: float) -> Tuple[float, float]:
    """The range of ``values`` widened by ``margin`` of its width on each side."""
    low, high = float(values.min()), float(values.max())
    pad = margin * (high - low)
    return round(low - pad, 4), round(high + pad, 4)


def fit_mapping(pairs: Sequence[Pair], spec: ModelSpec = BOX_MODEL) -> FramingModel:
    """Least-squares fit of a :class:`FramingModel` with the features ``spec`` (``log(side/h)``
    and the centre offsets over ``max(w, h)``) to BlazeFace's squares."""
    landmarks = any(FEATURES[n] for names in spec.values() for n in names)
    if not pairs:
        return FramingModel({"intercept": 0.0}, {"intercept": 0.0}, {"intercept": 0.0})
    raw = np.array([p.raw[:5] for p in pairs], np.float64)
    ref = np.array([p.ref[:4] for p in pairs], np.float64)
    points = np.array([p.points for p in pairs], np.float64) if landmarks else None
    feats = face_features(raw, points)
    w, h = raw[:, 2] - raw[:, 0], raw[:, 3] - raw[:, 1]
    unit = np.maximum(w, h)
    targets = {"size": np.log(np.maximum(ref[:, 2] - ref[:, 0], ref[:, 3] - ref[:, 1]) / h),
               "centre_x": ((ref[:, 0] + ref[:, 2]) - (raw[:, 0] + raw[:, 2])) / 2 / unit,
               "centre_y": ((ref[:, 1] + ref[:, 3]) - (raw[:, 1] + raw[:, 3])) / 2 / unit}
    parts = {}
    for part, names in spec.items():
        coefs = _least_squares([feats[n] for n in names], targets[part])
        parts[part] = {n: round(float(c), 4) for n, c in zip(("intercept",) + tuple(names), coefs)}
    used = sorted({n for names in spec.values() for n in names})
    ranges = {n: _widened(feats[n], RANGE_MARGIN) for n in used}
    return FramingModel(**parts, ranges=ranges)


def person_of(image_name: str) -> str:
    """Who a calibration image shows: ``astronaut()``, its synthetic variants and the bundled
    driving clip are one person; every other image is its own group."""
    if image_name.startswith(("astronaut", "driving_")):
        return "astronaut"
    return image_name


def held_out_ious(report: DetectorReport, spec: ModelSpec, key: Callable[[Pair], str]
                  ) -> np.ndarray:
    """Cross-validated crop IoU ``[n]`` (pair order): each pair mapped with the model fitted on
    the pairs whose ``key`` (image, person, source) differs from its own."""
    out = np.zeros(len(report.pairs))
    keys = [key(p) for p in report.pairs]
    for held in sorted(set(keys)):
        train = [p for p, k in zip(report.pairs, keys) if k != held]
        index = [i for i, k in enumerate(keys) if k == held]
        test = DetectorReport(report.name, 0, [report.pairs[i] for i in index])
        out[index] = test.crop_ious(fit_mapping(train, spec))
    return out


#: Cross-validation groupings: leave one image / one person / one source out.
CV_GROUPS: Dict[str, Callable[[Pair], str]] = {
    "image": lambda p: p.image,
    "person": lambda p: person_of(p.image),
    "source": lambda p: source_of(p.image),
}


def by_source(report: DetectorReport, values: np.ndarray) -> Dict[str, float]:
    """Mean of per-pair ``values [n]`` for each source, and ``"all"``."""
    sources = [source_of(p.image) for p in report.pairs]
    out = {s: float(np.mean([v for v, t in zip(values, sources) if t == s]))
           for s in dict.fromkeys(sources)}
    out["all"] = float(np.mean(values)) if len(values) else float("nan")
    return out
