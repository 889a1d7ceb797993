"""Expression transfer with the First Order Motion Model: the pipeline around the networks.

Steps (each a small function below): read the source portrait → detect faces → crop each face
with PaddleGAN's margin rule → pick the reference driving frame (first, ``best_frame`` or the
pose-closest one) → plan the driving crop (one square per shot; see
:mod:`ppgan_app.faces.driving_crop`) → stream the driving video in chunks: crop and resize →
keypoints (optionally smoothed) →
animate every source face → (optionally enhance the faces) → paste back with feathered masks →
encode H.264 → mux the audio. The options are :class:`.options.TransferOptions`.

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

from ppgan_app.apps.expression_transfer.animator import Animator
from ppgan_app.apps.expression_transfer.composite import Compositor
from ppgan_app.apps.expression_transfer.options import TransferOptions, check_filename
from ppgan_app.apps.video_io import Mp4Writer, VideoReader, iter_chunks
from ppgan_app.errors import InputError
from ppgan_app.faces.crop import Box, crop_resize, face_crop_boxes
from ppgan_app.faces.driving_crop import DrivingCropPlan, no_crop_plan, plan_driving_crop
from ppgan_app.utils.safe_files import check_destination, clean_stale_temps

logger = logging.getLogger(__name__)

#: Driving frames held at once when ``slice_size`` is 0.
DEFAULT_CHUNK = 16
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
            raise InputError("no face found in the source image; try another --face_detector "
                             "(yunet, blazeface, dlib, sfd), a larger image of the face, or "
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
    """Turns raw driving frames into network input: the crop of their shot, then resize.

    Args:
        size: network image side ``S``.
        plan: the crop of every frame (default: whole frames, which PaddleGAN squashes to a
            square).
    """

    def __init__(self, size: int, plan: Optional[DrivingCropPlan] = None) -> None:
        self.size = size
        self.plan = plan or no_crop_plan()

    def __call__(self, frames: np.ndarray, start: int = 0) -> np.ndarray:
        """``[n,H,W,3] uint8`` frames ``start, start+1, ...`` → ``[n,S,S,3] uint8``."""
        out = np.empty((len(frames), self.size, self.size, 3), np.uint8)
        for i, frame in enumerate(frames):
            box = self.plan.box_at(start + i) or (0, 0, frame.shape[1], frame.shape[0])
            out[i] = crop_resize(frame, box, self.size)
        return out


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
    from ppgan_app.faces.landmarks import DlibLandmarker, best_frame_index

    landmarker = landmarker or DlibLandmarker()
    source_points = landmarker(source_face)
    if source_points is None:
        logger.warning("--find_best_frame: no landmarks on the source face; using frame 0")
        return 0
    return best_frame_index(source_points, (landmarker(prep(f[None], i)[0])
                                            for i, f in enumerate(frames)))


def render_chunk(animator: Animator, prep_frames: np.ndarray, sources: Sequence[np.ndarray],
                 kp_sources: Sequence[Any], kp_initial: Any, batch_size: int, relative: bool,
                 adapt_scale: bool, smoother: Optional[Callable[[Any], Any]] = None
                 ) -> List[np.ndarray]:
    """Animate every source face with a chunk of driving frames.

    Args:
        prep_frames: ``[n,S,S,3] uint8`` preprocessed driving frames.
        sources: per face, ``[1,3,S,S] float32`` in [0, 1].
        kp_sources: per face, its keypoints.
        kp_initial: keypoints of the reference driving frame.
        batch_size: frames per network call.
        smoother: keypoints → smoothed keypoints, called on batches in frame order (state
            kept across calls), or ``None``.

    Returns:
        per face, ``[n,S,S,3] uint8`` animated crops, in frame order.
    """
    outputs: List[List[np.ndarray]] = [[] for _ in sources]
    for start in range(0, len(prep_frames), batch_size):
        driving = to_chw_float(prep_frames[start:start + batch_size])
        kp_driving = animator.keypoints(driving)
        if smoother is not None:
            kp_driving = smoother(kp_driving)
        for face, (source, kp_source) in enumerate(zip(sources, kp_sources)):
            pred = animator.animate(source, kp_source, kp_driving, kp_initial,
                                    relative=relative, adapt_scale=adapt_scale)
            outputs[face].append(to_hwc_uint8(pred))
    return [np.concatenate(parts) for parts in outputs]


# ----------------------------------------------------------------------------- predictor

class FirstOrderPredictor:
    """Animate the face(s) of a portrait with the motion of a driving video (PaddleGAN's API).

    ``FirstOrderPredictor(relative=True, adapt_scale=True).run("me.jpg", "talk.mp4")``. The
    keyword arguments are the fields of :class:`.options.TransferOptions` (their defaults and
    help live there, PaddleGAN's defaults beside them) and are all checked here, before any
    work; option values are readable as attributes (``predictor.ratio``).

    Args:
        options: a :class:`TransferOptions` instead of keyword arguments.
        animator: an :class:`Animator` to use instead of building the FOMM networks.
        enhancer: an object with ``enhance(crops [n,S,S,3] uint8) -> same`` to use instead of
            building GPEN for ``face_enhancement``.
        **kwargs: options.

    Raises:
        InputError: a bad option value (one line naming the flag), or ``face_enhancement``
            without the GPEN package.
    """

    def __init__(self, options: Optional[TransferOptions] = None, *,
                 animator: Optional[Animator] = None, enhancer: Any = None,
                 **kwargs: Any) -> None:
        if options is not None and kwargs:
            raise InputError("pass either options or keyword arguments, not both")
        self.options = options or TransferOptions.from_kwargs(**kwargs)
        if self.options.face_enhancement and enhancer is None:
            check_enhancement_available()
        self._animator = animator
        self._enhancer = enhancer
        self._detector = None

    def __getattr__(self, name: str) -> Any:
        options = self.__dict__.get("options")
        if options is not None and name in TransferOptions.__dataclass_fields__:
            return getattr(options, name)
        raise AttributeError(f"{type(self).__name__!r} has no attribute {name!r}")

    # -- lazily built parts

    @property
    def animator(self) -> Animator:
        """The networks behind the pipeline, built on first use."""
        if self._animator is None:
            from ppgan_app.apps.expression_transfer.fomm_animator import build_fomm_animator

            self._animator = build_fomm_animator(
                config=self.config, weight_path=self.weight_path, image_size=self.image_size,
                mobile_net=self.mobile_net, engine=self.engine, device=self.device)
        return self._animator

    @property
    def detector(self) -> Callable[[np.ndarray], np.ndarray]:
        """The face detector named by ``face_detector``, built on first use."""
        if self._detector is None:
            from ppgan_app.faces.detectors import build_face_detector

            self._detector = build_face_detector(self.face_detector)
            logger.info("face detector: %s (boxes in BlazeFace's framing)", self.face_detector)
        return self._detector

    @property
    def enhancer(self) -> Any:
        """GPEN (``face_enhancement``), built on first use, or ``None``."""
        if not self.options.face_enhancement:
            return None
        if self._enhancer is None:
            self._enhancer = build_enhancer()
        return self._enhancer

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
        enhancer = self.enhancer  # built (its weights found) before any frame is written
        size = animator.image_size
        faces = np.stack([crop_resize(source, box, size) for box in boxes])
        prep = DrivingPrep(size, self._driving_plan(reader))
        index, first = self._reference_frame(reader, source, boxes[0], prep)
        sources = [to_chw_float(face[None]) for face in faces]
        kp_sources = [animator.keypoints(s) for s in sources]
        kp_initial = animator.keypoints(to_chw_float(prep(first[None], index)))
        compose = Compositor(source, boxes, self.ratio, whole_image=whole)
        frames, audio = self._stream(reader, prep, sources, kp_sources, kp_initial, compose,
                                     out_path, driving_video, enhancer)
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

    def _driving_plan(self, reader: VideoReader) -> DrivingCropPlan:
        """Where to crop each driving frame (``crop_driving``: auto, on, off)."""
        if self.crop_driving == "off":
            return no_crop_plan()
        return plan_driving_crop(reader, reader.meta.n_frames, self.detector, self.crop_driving)

    def _reference_frame(self, reader: VideoReader, source: np.ndarray, box: Box,
                         prep: DrivingPrep) -> Tuple[int, np.ndarray]:
        """The driving frame that relative motion is measured from: ``(index, [H,W,3] uint8)``.

        Animating every frame against this one reference is what the original FOMM's
        forward-from-best / backward-to-start passes compute, so frames stay in order here.
        Landmarks are compared at LANDMARK_SIZE whatever the network's size.
        """
        index = 0
        if self.best_frame is not None:
            index = self.best_frame
        elif self.find_best_frame:
            index = find_best_frame(crop_resize(source, box, LANDMARK_SIZE), reader,
                                    DrivingPrep(LANDMARK_SIZE, prep.plan))
        logger.info("reference driving frame: %d", index)
        return index, nth_frame(reader, index, reader.path)

    def _smoother(self, fps: float) -> Optional[Callable[[Any], Any]]:
        """The keypoint smoother of ``smooth`` (one per run: it keeps state), or ``None``."""
        if not self.smooth:
            return None
        from ppgan_app.faces.smoothing import KeypointSmoother

        logger.info("--smooth: One-Euro filter on the driving keypoints at %g fps", fps)
        return KeypointSmoother(fps)

    def _stream(self, reader: VideoReader, prep: DrivingPrep, sources: Sequence[np.ndarray],
                kp_sources: Sequence[Any], kp_initial: Any, compose: Compositor,
                out_path: str, driving_video: str, enhancer: Any = None) -> Tuple[int, bool]:
        """Read, animate and write the driving video chunk by chunk; return (frames, audio)."""
        from tqdm import tqdm

        from ppgan_app.apps.video_io import probe_streams

        with Mp4Writer(out_path, reader.meta.fps) as writer, \
                tqdm(total=reader.meta.n_frames, unit="frame", desc="animating",
                     disable=not self.progress, dynamic_ncols=True) as bar:
            smoother = self._smoother(reader.meta.fps)
            start = 0
            for chunk in iter_chunks(reader, self.chunk_size):
                crops = render_chunk(self.animator, prep(chunk, start), sources, kp_sources,
                                     kp_initial, self.batch_size, self.relative,
                                     self.adapt_scale, smoother)
                if enhancer is not None:  # GPEN on the animated faces, before paste-back
                    crops = [enhancer.enhance(face_crops) for face_crops in crops]
                start += len(chunk)
                for i in range(len(chunk)):
                    writer.write(compose([face_crops[i] for face_crops in crops]))
                bar.update(len(chunk))
            if writer.frames_written == 0:
                raise InputError(f"driving video {driving_video} has no frames")
            with_audio = self.audio and probe_streams(driving_video).has_audio
            writer.finish(audio_source=driving_video if with_audio else None)
        return writer.frames_written, with_audio


# ----------------------------------------------------------------------------- enhancement

#: The module that provides GPEN face restoration (``--face_enhancement``).
ENHANCEMENT_MODULE = "ppgan_app.faces.enhancement"


def check_enhancement_available() -> None:
    """Raise :class:`InputError` unless the GPEN module is installed (checked before work)."""
    import importlib.util

    if importlib.util.find_spec(ENHANCEMENT_MODULE) is None:
        raise InputError("--face_enhancement needs GPEN (ppgan_app.faces.enhancement), which "
                         "this installation does not include; run without --face_enhancement")


def build_enhancer() -> Any:
    """GPEN on PaddleGAN's weights: ``enhance(crops [n,S,S,3] uint8) -> [n,S,S,3] uint8``,
    applied to the animated face crops before they are pasted back (as PaddleGAN does)."""
    import importlib

    check_enhancement_available()
    return importlib.import_module(ENHANCEMENT_MODULE).FaceEnhancer(weight_path=None)
