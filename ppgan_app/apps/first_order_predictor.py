"""Expression transfer with the First Order Motion Model: the pipeline around the networks.

Steps (each a small function below): read the source portrait → detect faces → crop each face
with PaddleGAN's margin rule → pick the reference driving frame (first, ``best_frame`` or the
pose-closest one) → stream the driving video in chunks: (optionally crop the driving face) →
animate every source face → paste back with feathered masks → encode H.264 → mux the audio.

Memory does not grow with the video's length: at most ``chunk_size`` driving frames are held.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any, Callable, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from ppgan_app.apps.animator import Animator
from ppgan_app.apps.composite import Compositor
from ppgan_app.apps.crop import Box, crop_resize, driving_crop_box, face_crop_boxes
from ppgan_app.apps.errors import InputError
from ppgan_app.apps.video_io import Mp4Writer, VideoReader, iter_chunks
from ppgan_app.utils.safe_files import check_destination, clean_stale_temps

logger = logging.getLogger(__name__)

#: Driving frames held at once when ``slice_size`` is 0.
DEFAULT_CHUNK = 16
#: Frames sampled to place the ``crop_driving`` square.
DRIVING_SAMPLES = 24
#: Side of the face images that ``find_best_frame`` compares landmarks on.
LANDMARK_SIZE = 256


def sample_paths() -> Tuple[str, str]:
    """The bundled sample: ``(source portrait, driving video)`` file paths."""
    folder = resources.files("ppgan_app") / "assets"
    return str(folder / "fomm_source.jpg"), str(folder / "fomm_driving.mp4")


@dataclass(frozen=True)
class RunSummary:
    """What one :meth:`FirstOrderPredictor.run_with_summary` call produced."""

    path: str  #: the output mp4
    frames: int  #: frames written (= driving frames)
    fps: float  #: output frame rate (= the driving video's)
    seconds: float  #: wall time of the run
    faces: int  #: faces animated
    audio: bool  #: the output has the driving video's audio


# ----------------------------------------------------------------------------- steps

def check_filename(filename: str) -> str:
    """A result name is a plain ``.mp4`` file name inside the output folder.

    Raises:
        InputError: the name has a folder part (``sub/x.mp4``, ``../x.mp4``, an absolute path),
            is empty or a dot name, or does not end in ``.mp4``.
    """
    name = str(filename)
    if not name or name in (".", "..") or os.path.basename(name) != name or "/" in name \
            or (os.sep != "/" and os.sep in name):
        raise InputError(f"--filename {name!r} must be a plain file name inside --output "
                         "(no folders); use --output to choose the folder")
    if not name.lower().endswith(".mp4"):
        raise InputError(f"--filename {name!r} must end in .mp4 (the result is an H.264 mp4)")
    return name


def read_source_image(path: str) -> np.ndarray:
    """Read a portrait as ``[H,W,3] uint8`` RGB.

    EXIF orientation is applied; grey and palette images are expanded; transparent pixels are
    flattened onto white.

    Raises:
        InputError: the file is missing or not an image.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not os.path.isfile(path):
        raise InputError(f"source image not found: {path}")
    try:
        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img)
            if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                rgba = img.convert("RGBA")
                flat = Image.new("RGB", rgba.size, (255, 255, 255))
                flat.paste(rgba, mask=rgba.getchannel("A"))
                img = flat
            elif img.mode.startswith("I;16") or img.mode == "I":
                wide = np.asarray(img, np.float64) / 257.0  # 16-bit grey -> 8-bit
                img = Image.fromarray(wide.clip(0, 255).astype(np.uint8))
            image = np.asarray(img.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InputError(f"cannot read source image {path}: {exc}") from None
    if image.shape[0] < 8 or image.shape[1] < 8:
        raise InputError(f"source image {path} is too small ({image.shape[1]}x{image.shape[0]})")
    return image


def source_face_boxes(image: np.ndarray, detect: Callable[[np.ndarray], np.ndarray],
                      multi_person: bool, no_face_ok: bool) -> Tuple[List[Box], bool]:
    """Crop boxes of the faces to animate, largest first.

    Returns:
        ``(boxes, whole_image)``: ``whole_image`` is True when no face was found and
        ``no_face_ok`` asked to animate the whole image (one box covering it).

    Raises:
        InputError: no face found and ``no_face_ok`` is False.
    """
    boxes = face_crop_boxes(detect(image), image.shape[:2])
    if not boxes:
        if not no_face_ok:
            raise InputError("no face found in the source image; try --face_detector yunet, or "
                             "--no_face_ok to animate the whole image")
        logger.warning("no face found in the source image: animating the whole image")
        return [(0, 0, image.shape[1], image.shape[0])], True
    logger.info("%d face(s) found in the source; animating %s", len(boxes),
                "all" if multi_person else "the largest")
    return (boxes if multi_person else boxes[:1]), False


def to_chw_float(images: np.ndarray) -> np.ndarray:
    """``[N,S,S,3] uint8`` → ``[N,3,S,S] float32`` in [0, 1]."""
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32) / 255.0


def to_hwc_uint8(images: np.ndarray) -> np.ndarray:
    """``[N,3,S,S] float`` in [0, 1] → ``[N,S,S,3] uint8``."""
    scaled = np.rint(np.asarray(images).transpose(0, 2, 3, 1) * 255.0)
    return np.clip(scaled, 0, 255).astype(np.uint8)


class DrivingPrep:
    """Turns raw driving frames into network input: optional fixed square crop, then resize.

    Args:
        size: network image side ``S``.
        box: crop box applied to every frame, or ``None`` for the whole frame (PaddleGAN
            squashes the whole frame to a square).
    """

    def __init__(self, size: int, box: Optional[Box] = None) -> None:
        self.size = size
        self.box = box

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """``[n,H,W,3] uint8`` → ``[n,S,S,3] uint8``."""
        out = np.empty((len(frames), self.size, self.size, 3), np.uint8)
        for i, frame in enumerate(frames):
            box = self.box or (0, 0, frame.shape[1], frame.shape[0])
            out[i] = crop_resize(frame, box, self.size)
        return out


def locate_driving_face(frames: Iterable[np.ndarray], n_frames: Optional[int],
                        detect: Callable[[np.ndarray], np.ndarray]) -> Optional[Box]:
    """One stable square around the driving face, from faces found in sampled frames.

    Args:
        frames: the driving frames ``[H,W,3] uint8`` (streamed; only samples are kept).
        n_frames: estimated frame count, to spread about DRIVING_SAMPLES samples over the video.
        detect: face detector.

    Returns:
        the crop box, or ``None`` when no sampled frame has a face (then the whole frame is used).
    """
    stride = max(1, (n_frames or DRIVING_SAMPLES) // DRIVING_SAMPLES)
    faces, hw = [], None
    for index, frame in enumerate(frames):
        if index % stride:
            continue
        hw = frame.shape[:2]
        found = detect(frame)
        if len(found):
            faces.append(found[0])
    if not faces:
        logger.warning("--crop_driving: no face found in the driving video; using whole frames")
        return None
    box = driving_crop_box(faces, hw)
    logger.info("--crop_driving: face found in %d sampled frames; crop box %s", len(faces), box)
    return box


def nth_frame(frames: Iterable[np.ndarray], index: int, path: str) -> np.ndarray:
    """Frame ``index`` of a streamed video ``[H,W,3] uint8``.

    Raises:
        InputError: the video has no frames, or fewer than ``index + 1``.
    """
    count = 0
    for count, frame in enumerate(frames, start=1):
        if count - 1 == index:
            return frame
    if count == 0:
        raise InputError(f"driving video {path} has no frames")
    raise InputError(f"--best_frame {index} is past the end of {path} ({count} frames)")


def find_best_frame(source_face: np.ndarray, frames: Iterable[np.ndarray],
                    prep: DrivingPrep, landmarker: Optional[Callable] = None) -> int:
    """Index of the driving frame whose face pose is closest to the source face's.

    Args:
        source_face: ``[S,S,3] uint8`` the source face crop.
        frames: the raw driving frames (streamed).
        prep: the driving preprocessing (crop, resize to the same ``S``), so landmarks are
            compared on the images the network animates from, at a size dlib can handle.
        landmarker: ``image -> [68,2] or None``; default dlib's 68-point model.
    """
    from ppgan_app.apps.landmarks import DlibLandmarker, best_frame_index

    landmarker = landmarker or DlibLandmarker()
    source_points = landmarker(source_face)
    if source_points is None:
        logger.warning("--find_best_frame: no landmarks on the source face; using frame 0")
        return 0
    return best_frame_index(source_points, (landmarker(prep(f[None])[0]) for f in frames))


def render_chunk(animator: Animator, prep_frames: np.ndarray, sources: Sequence[np.ndarray],
                 kp_sources: Sequence[Any], kp_initial: Any, batch_size: int, relative: bool,
                 adapt_scale: bool) -> List[np.ndarray]:
    """Animate every source face with a chunk of driving frames.

    Args:
        prep_frames: ``[n,S,S,3] uint8`` preprocessed driving frames.
        sources: per face, ``[1,3,S,S] float32`` in [0, 1].
        kp_sources: per face, its keypoints.
        kp_initial: keypoints of the reference driving frame.
        batch_size: frames per network call.

    Returns:
        per face, ``[n,S,S,3] uint8`` animated crops, in frame order.
    """
    outputs: List[List[np.ndarray]] = [[] for _ in sources]
    for start in range(0, len(prep_frames), batch_size):
        driving = to_chw_float(prep_frames[start:start + batch_size])
        kp_driving = animator.keypoints(driving)
        for face, (source, kp_source) in enumerate(zip(sources, kp_sources)):
            pred = animator.animate(source, kp_source, kp_driving, kp_initial,
                                    relative=relative, adapt_scale=adapt_scale)
            outputs[face].append(to_hwc_uint8(pred))
    return [np.concatenate(parts) for parts in outputs]


# ----------------------------------------------------------------------------- predictor

class FirstOrderPredictor:
    """Animate the face(s) of a portrait with the motion of a driving video (PaddleGAN's API).

    Args:
        output: folder for the result (created if needed).
        weight_path: checkpoint file or known name; ``None`` resolves the official checkpoint
            for ``image_size``/``mobile_net``.
        config: YAML file (or dict) with the architecture; ``None`` = the packaged vox config.
        relative: relative keypoint motion (what users almost always want).
        adapt_scale: scale the motion by the ratio of keypoint convex-hull areas.
        find_best_frame: start from the driving frame whose face pose is closest to the
            source's (needs dlib's 68-point landmark model).
        best_frame: explicit reference driving frame (overrides ``find_best_frame``).
        ratio: radius of the pasted face region as a fraction of the crop height (0.4-0.5).
        filename: output file name inside ``output``.
        face_detector: ``dlib`` (HOG, default), ``yunet``; ``sfd``/``blazeface`` are not built.
        multi_person: animate every detected face, not only the largest.
        image_size: network input side (256, or 512 for the 512 checkpoint); ``None``: the
            frame size a kit training checkpoint (or ``config``) was trained on, else 256.
        batch_size: driving frames per network call (results do not depend on it).
        face_enhancement: GPEN restoration (not available yet: raises InputError).
        mobile_net: the small distilled model.
        slice_size: driving frames held in memory at once (0 = 16).
        device: ``cpu``/``gpu``; ``None`` = Paddle's current device.
        engine: ``auto`` (fast on CPU when available), ``dygraph`` or ``fast`` (Paddle Inference).
        audio: copy the driving video's audio track into the result when it has one.
        crop_driving: crop a stable square around the driving face before animation.
        no_face_ok: animate the whole source image when no face is found in it.
        progress: show a tqdm progress bar.
        animator: an :class:`Animator` to use instead of building the FOMM networks.
    """

    def __init__(self, output: str = "output", weight_path: Optional[str] = None,
                 config: Any = None, relative: bool = False, adapt_scale: bool = False,
                 find_best_frame: bool = False, best_frame: Optional[int] = None,
                 ratio: float = 0.4, filename: str = "result.mp4", face_detector: str = "dlib",
                 multi_person: bool = False, image_size: Optional[int] = None, batch_size: int = 1,
                 face_enhancement: bool = False, mobile_net: bool = False, slice_size: int = 0,
                 device: Optional[str] = None, engine: str = "auto", audio: bool = True,
                 crop_driving: bool = False, no_face_ok: bool = False, progress: bool = True,
                 animator: Optional[Animator] = None) -> None:
        if face_enhancement:
            raise InputError("--face_enhancement (GPEN) is not available yet in ppgan_app; "
                             "run without it")
        if batch_size < 1:
            raise InputError(f"--batch_size must be >= 1, got {batch_size}")
        if best_frame is not None and best_frame < 0:
            raise InputError(f"--best_frame must be >= 0, got {best_frame}")
        if not 0.0 < ratio <= 2.0:
            raise InputError(f"--ratio must be in (0, 2], got {ratio}")
        if slice_size < 0:
            raise InputError(f"--slice_size must be >= 0, got {slice_size}")
        if image_size is not None and image_size < 1:
            raise InputError(f"--image_size must be positive, got {image_size}")
        check_filename(filename)
        if device is not None:
            from ppgan_app.utils.device import check_device

            check_device(device)
        self.output = output
        self.filename = filename
        self.weight_path = weight_path
        self.config = config
        self.relative = relative
        self.adapt_scale = adapt_scale
        self.find_best_frame = find_best_frame
        self.best_frame = best_frame
        self.ratio = ratio
        self.face_detector = face_detector
        self.multi_person = multi_person
        self.image_size = image_size
        self.batch_size = batch_size
        self.mobile_net = mobile_net
        self.slice_size = slice_size
        self.device = device
        self.engine = engine
        self.audio = audio
        self.crop_driving = crop_driving
        self.no_face_ok = no_face_ok
        self.progress = progress
        self._animator = animator
        self._detector = None

    # -- lazily built parts

    @property
    def animator(self) -> Animator:
        """The networks behind the pipeline, built on first use."""
        if self._animator is None:
            from ppgan_app.apps.fomm_animator import build_fomm_animator

            self._animator = build_fomm_animator(
                config=self.config, weight_path=self.weight_path, image_size=self.image_size,
                mobile_net=self.mobile_net, engine=self.engine, device=self.device)
        return self._animator

    @property
    def detector(self) -> Callable[[np.ndarray], np.ndarray]:
        """The face detector named by ``face_detector``, built on first use."""
        if self._detector is None:
            from ppgan_app.apps.face_detection import build_face_detector

            self._detector = build_face_detector(self.face_detector)
        return self._detector

    @property
    def chunk_size(self) -> int:
        """Driving frames held at once: ``slice_size`` (or 16) rounded up to whole batches."""
        base = self.slice_size or DEFAULT_CHUNK
        return max(1, -(-base // self.batch_size)) * self.batch_size

    # -- public API

    def run(self, source_image: Optional[str] = None, driving_video: Optional[str] = None,
            filename: Optional[str] = None) -> str:
        """Animate ``source_image`` with ``driving_video``; return the output mp4's path.

        Without paths the bundled sample is used.
        """
        return self.run_with_summary(source_image, driving_video, filename).path

    def run_with_summary(self, source_image: Optional[str] = None,
                         driving_video: Optional[str] = None,
                         filename: Optional[str] = None) -> RunSummary:
        """Like :meth:`run`, returning a :class:`RunSummary` (path, frames, fps, seconds...)."""
        start = time.perf_counter()
        source_image, driving_video = self._resolve_inputs(source_image, driving_video)
        out_path = os.path.join(self.output, check_filename(filename or self.filename))
        check_destination(out_path)  # before any work: a folder in the way, a read-only disk
        clean_stale_temps(out_path)
        source = read_source_image(source_image)
        reader = VideoReader(driving_video)
        boxes, whole = source_face_boxes(source, self.detector, self.multi_person,
                                         self.no_face_ok)
        animator = self.animator
        size = animator.image_size
        faces = np.stack([crop_resize(source, box, size) for box in boxes])
        prep = DrivingPrep(size, self._driving_box(reader))
        first = self._reference_frame(reader, source, boxes[0], prep)
        sources = [to_chw_float(face[None]) for face in faces]
        kp_sources = [animator.keypoints(s) for s in sources]
        kp_initial = animator.keypoints(to_chw_float(prep(first[None])))
        compose = Compositor(source, boxes, self.ratio, whole_image=whole)
        frames, audio = self._stream(reader, prep, sources, kp_sources, kp_initial, compose,
                                     out_path, driving_video)
        return RunSummary(path=out_path, frames=frames, fps=reader.meta.fps,
                          seconds=time.perf_counter() - start, faces=len(boxes), audio=audio)

    # -- steps that need the options

    @staticmethod
    def _resolve_inputs(source_image: Optional[str],
                        driving_video: Optional[str]) -> Tuple[str, str]:
        if source_image is None or driving_video is None:
            sample_source, sample_driving = sample_paths()
            if source_image is None:
                logger.info("no source image given: using the bundled sample %s", sample_source)
                source_image = sample_source
            if driving_video is None:
                logger.info("no driving video given: using the bundled sample %s", sample_driving)
                driving_video = sample_driving
        return source_image, driving_video

    def _driving_box(self, reader: VideoReader) -> Optional[Box]:
        if not self.crop_driving:
            return None
        return locate_driving_face(reader, reader.meta.n_frames, self.detector)

    def _reference_frame(self, reader: VideoReader, source: np.ndarray, box: Box,
                         prep: DrivingPrep) -> np.ndarray:
        """The driving frame that relative motion is measured from, ``[H,W,3] uint8``.

        Animating every frame against this one reference is what the original FOMM's
        forward-from-best / backward-to-start passes compute, so frames stay in order here.
        Landmarks are compared at LANDMARK_SIZE whatever the network's size.
        """
        index = 0
        if self.best_frame is not None:
            index = self.best_frame
        elif self.find_best_frame:
            index = find_best_frame(crop_resize(source, box, LANDMARK_SIZE), reader,
                                    DrivingPrep(LANDMARK_SIZE, prep.box))
        logger.info("reference driving frame: %d", index)
        return nth_frame(reader, index, reader.path)

    def _stream(self, reader: VideoReader, prep: DrivingPrep, sources: Sequence[np.ndarray],
                kp_sources: Sequence[Any], kp_initial: Any, compose: Compositor,
                out_path: str, driving_video: str) -> Tuple[int, bool]:
        """Read, animate and write the driving video chunk by chunk; return (frames, audio)."""
        from tqdm import tqdm

        from ppgan_app.apps.video_io import probe_streams

        with Mp4Writer(out_path, reader.meta.fps) as writer, \
                tqdm(total=reader.meta.n_frames, unit="frame", desc="animating",
                     disable=not self.progress, dynamic_ncols=True) as bar:
            for chunk in iter_chunks(reader, self.chunk_size):
                crops = render_chunk(self.animator, prep(chunk), sources, kp_sources, kp_initial,
                                     self.batch_size, self.relative, self.adapt_scale)
                for i in range(len(chunk)):
                    writer.write(compose([face_crops[i] for face_crops in crops]))
                bar.update(len(chunk))
            if writer.frames_written == 0:
                raise InputError(f"driving video {driving_video} has no frames")
            with_audio = self.audio and probe_streams(driving_video).has_audio
            writer.finish(audio_source=driving_video if with_audio else None)
        return writer.frames_written, with_audio
