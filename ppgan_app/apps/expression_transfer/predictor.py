"""Expression transfer with the First Order Motion Model: the pipeline around the networks.

Steps (each a small function below): read the source portrait → detect faces → crop each face
with PaddleGAN's margin rule → pick the reference driving frame (first, ``best_frame`` or the
pose-closest one) → plan the driving crop (one square per shot; see
:mod:`ppgan_app.faces.driving_crop`) → stream the driving video in chunks: crop and resize →
keypoints (optionally smoothed) →
animate every source face → (optionally enhance the faces) → paste back with feathered masks →
encode H.264 → mux the audio. The options are :class:`.options.TransferOptions`.

Memory does not grow with the video's length: at most ``chunk_size`` driving frames are held,
plus the driving keypoints (about 60 numbers per frame). Several portraits with one driving video
(:meth:`FirstOrderPredictor.run_batch`) share one decode of the video and one keypoint pass
(:class:`DrivingMotion`); a portrait that fails (no face) is reported and the others go on.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any, Callable, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from ppgan_app.apps.expression_transfer.animator import Animator
from ppgan_app.apps.expression_transfer.composite import Compositor
from ppgan_app.apps.expression_transfer.motion import (DrivingMotion, animate_batch,
                                                      driving_keypoints, to_chw_float)
from ppgan_app.apps.expression_transfer.options import TransferOptions, check_filename
from ppgan_app.apps.ordered_stage import OrderedStage
from ppgan_app.apps.video_io import Mp4Writer, VideoReader, iter_chunks
from ppgan_app.apps.expression_transfer.batch import (BatchSummary, PortraitResult,
                                                     batch_names, list_portraits)
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
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as exc:
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
    from ppgan_app.faces.landmarks import DlibLandmarker

    landmarker = landmarker or DlibLandmarker()
    return best_frame_from(source_face, (landmarker(prep(f[None], i)[0])
                                         for i, f in enumerate(frames)), landmarker)


def best_frame_from(source_face: np.ndarray, driving_landmarks: Iterable[Optional[np.ndarray]],
                    landmarker: Callable) -> int:
    """Index of the driving frame whose landmarks (``[68,2]`` or ``None`` per frame) are
    closest in pose to those of ``source_face [S,S,3] uint8``; 0 without source landmarks."""
    from ppgan_app.faces.landmarks import best_frame_index

    source_points = landmarker(source_face)
    if source_points is None:
        logger.warning("--find_best_frame: no landmarks on the source face; using frame 0")
        return 0
    return best_frame_index(source_points, driving_landmarks)


def render_chunk(animator: Animator, prep_frames: np.ndarray, sources: Sequence[np.ndarray],
                 kp_sources: Sequence[Any], kp_initial: Any, batch_size: int, relative: bool,
                 adapt_scale: bool, smoother: Optional[Callable[[Any], Any]] = None
                 ) -> List[np.ndarray]:
    """Animate every source face with a chunk of driving frames.

    Args:
        prep_frames: ``[n,S,S,3] uint8`` preprocessed driving frames.
        batch_size: frames per network call.
        smoother: keypoints → smoothed keypoints, called on batches in frame order (state
            kept across calls), or ``None``.
        others: as :func:`animate_batch`.

    Returns:
        per face, ``[n,S,S,3] uint8`` animated crops, in frame order.
    """
    outputs: List[List[np.ndarray]] = [[] for _ in sources]
    for kp_driving, _ in driving_keypoints(animator, prep_frames, batch_size):
        if smoother is not None:
            kp_driving = smoother(kp_driving)
        for face, crops in enumerate(animate_batch(animator, kp_driving, sources, kp_sources,
                                                   kp_initial, relative, adapt_scale)):
            outputs[face].append(crops)
    return [np.concatenate(parts) for parts in outputs]


@dataclass(frozen=True)
class Portrait:
    """A source portrait ready to animate: ``image [H,W,3] uint8`` and its face boxes."""

    path: str
    image: np.ndarray
    boxes: List[Box]
    whole: bool  #: no face found: the whole image is animated (``no_face_ok``)


# ----------------------------------------------------------------------------- predictor

class FirstOrderPredictor:
    """Animate the face(s) of a portrait with the motion of a driving video (PaddleGAN's API).

    ``FirstOrderPredictor(relative=True, adapt_scale=True).run("me.jpg", "talk.mp4")``;
    :meth:`run_batch` animates many portraits with one driving video. The
    keyword arguments are the fields of :class:`.options.TransferOptions` (their defaults and
    help live there, PaddleGAN's defaults beside them) and are all checked here, before any
    work; option values are readable as attributes (``predictor.ratio``).

    Args:
        options: a :class:`TransferOptions` instead of keyword arguments.
        animator: an :class:`Animator` to use instead of building the FOMM networks.
        enhancer: an object with ``enhance(crops [n,S,S,3] uint8) -> same`` to use instead of
            building GPEN for ``face_enhancement``.
        on_progress: called as ``on_progress(stage, done, total)`` while a run goes on
            (``stage`` is ``"driving"`` for the keypoint pass, ``"animating"`` per portrait;
            ``total`` frames may be ``None`` when the video does not say); the web app's bar.
        **kwargs: options.

    Raises:
        InputError: a bad option value (one line naming the flag), or ``face_enhancement``
            without the GPEN package.
    """

    def __init__(self, options: Optional[TransferOptions] = None, *,
                 animator: Optional[Animator] = None, enhancer: Any = None,
                 on_progress: Optional[Callable[[str, int, Optional[int]], None]] = None,
                 **kwargs: Any) -> None:
        if options is not None and kwargs:
            raise InputError("pass either options or keyword arguments, not both")
        self.options = options or TransferOptions.from_kwargs(**kwargs)
        if self.options.face_enhancement and enhancer is None:
            check_enhancement_available()
        self._animator = animator
        self._enhancer = enhancer
        self._face_upscaler: Any = None
        self._detector = None
        self._landmarker: Optional[Callable] = None
        self._on_progress = on_progress

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
                mobile_net=self.mobile_net, engine=self.engine, device=self.device,
                precision=self.precision)
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
    def face_upscaler(self) -> Any:
        """The SR network of ``super_resolution`` (``upscale(crops) -> larger crops``), built on
        first use, or ``None``."""
        if not self.options.super_resolution:
            return None
        if self._face_upscaler is None:
            from ppgan_app.apps.super_resolution.faces import FaceUpscaler

            self._face_upscaler = FaceUpscaler(self.options.super_resolution,
                                               self.options.super_resolution_weights)
        return self._face_upscaler

    @property
    def chunk_size(self) -> int:
        """Driving frames held at once: ``slice_size`` (or 16) rounded up to whole batches."""
        base = self.slice_size or DEFAULT_CHUNK
        return max(1, -(-base // self.batch_size)) * self.batch_size

    # -- public API

    def run(self, source_image: Union[None, str, Sequence[str]] = None,
            driving_video: Optional[str] = None,
            filename: Optional[str] = None) -> Union[str, List[str]]:
        """Animate ``source_image`` with ``driving_video``; return the output mp4's path.

        Without paths the bundled sample is used. A list of portraits or a folder of them is a
        batch (:meth:`run_batch`): the paths of the results written are returned as a list,
        and portraits that failed are logged with the summary table.
        """
        if source_image is not None and (not isinstance(source_image, (str, os.PathLike))
                                         or os.path.isdir(source_image)):
            summary = self.run_batch(source_image, driving_video)
            if not summary.ok:
                logger.warning("some portraits failed:\n%s", summary.table())
            return summary.paths
        return self.run_with_summary(source_image, driving_video, filename).path

    def run_with_summary(self, source_image: Optional[str] = None,
                         driving_video: Optional[str] = None,
                         filename: Optional[str] = None) -> RunSummary:
        """Like :meth:`run` for one portrait, returning a :class:`RunSummary`."""
        start = time.perf_counter()
        source_image, driving_video = self._resolve_inputs(source_image, driving_video)
        out_path = os.path.join(self.output, check_filename(filename or self.filename))
        check_destination(out_path)  # before any work: a folder in the way, a read-only disk
        clean_stale_temps(out_path)
        portrait = self._portrait(source_image)
        motion = self._driving_motion(VideoReader(driving_video))
        frames, audio = self._render(portrait, motion, out_path)
        return RunSummary(path=out_path, frames=frames, fps=motion.fps,
                          seconds=time.perf_counter() - start, faces=len(portrait.boxes),
                          audio=audio)

    def run_batch(self, source_images: Union[str, Sequence[str]],
                  driving_video: Optional[str] = None) -> BatchSummary:
        """Animate several portraits with one driving video: one result per portrait.

        The driving video is decoded and its keypoints computed once for all portraits.
        Results go to ``output/<portrait name>.mp4`` (see :func:`.batch.batch_names`;
        ``filename`` is not used). A portrait that fails with an :class:`InputError` (unreadable,
        no face) is reported in the summary and skipped; the others go on. Problems shared by
        all (the driving video, the options, the output folder, a full disk) raise.

        Args:
            source_images: image files and/or folders of images (see
                :func:`.batch.list_portraits`).
            driving_video: the driving video (default: the bundled sample).
        """
        start = time.perf_counter()
        portraits = list_portraits(source_images)
        _, driving_video = self._resolve_inputs(portraits[0], driving_video)
        out_paths = [os.path.join(self.output, name) for name in batch_names(portraits)]
        for out_path in out_paths:
            check_destination(out_path)
            clean_stale_temps(out_path)
        reader = VideoReader(driving_video)
        results: List[Optional[PortraitResult]] = [None] * len(portraits)
        loaded = []
        for i, path in enumerate(portraits):
            try:
                loaded.append((i, self._portrait(path)))
            except InputError as err:
                results[i] = self._failure(path, err, 0.0)
        motion = self._driving_motion(reader) if loaded else None
        for i, portrait in loaded:
            began = time.perf_counter()
            try:
                frames, audio = self._render(portrait, motion, out_paths[i])
            except InputError as err:
                results[i] = self._failure(portrait.path, err, time.perf_counter() - began)
                continue
            results[i] = PortraitResult(source=portrait.path, path=out_paths[i], frames=frames,
                                        faces=len(portrait.boxes), audio=audio,
                                        seconds=time.perf_counter() - began)
        return BatchSummary(results=list(results), driving_video=driving_video,
                            driving_frames=motion.frames if motion else 0,
                            fps=motion.fps if motion else reader.meta.fps,
                            seconds=time.perf_counter() - start)

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

    @staticmethod
    def _failure(path: str, err: InputError, seconds: float) -> PortraitResult:
        message = " ".join(str(err).split())
        logger.warning("%s: %s (skipped; the other portraits go on)", path, message)
        return PortraitResult(source=path, path=None, error=message, seconds=seconds)

    def _portrait(self, path: str) -> Portrait:
        """Read a portrait and find the faces to animate (``InputError``: unreadable, no face)."""
        image = read_source_image(path)
        boxes, whole = source_face_boxes(image, self.detector, self.multi_person, self.no_face_ok)
        return Portrait(path=path, image=image, boxes=boxes, whole=whole)

    def _driving_plan(self, reader: VideoReader) -> DrivingCropPlan:
        """Where to crop each driving frame (``crop_driving``: auto, on, off)."""
        if self.crop_driving == "off":
            return no_crop_plan()
        return plan_driving_crop(reader, reader.meta.n_frames, self.detector, self.crop_driving)

    def _progress(self, stage: str, done: int, total: Optional[int]) -> None:
        if self._on_progress is not None:
            self._on_progress(stage, done, total)

    def _driving_motion(self, reader: VideoReader) -> DrivingMotion:
        """Decode the driving video once: keypoints of every frame (and landmarks for
        ``find_best_frame``), in chunks of ``chunk_size`` frames.

        Raises:
            InputError: no frames, ``best_frame`` past the end, or ``find_best_frame`` without
                dlib's landmark model (before decoding).
        """
        from tqdm.auto import tqdm

        from ppgan_app.apps.video_io import probe_streams

        animator = self.animator
        self.enhancer  # noqa: B018 - built (its weights found) before any frame is written
        self.face_upscaler  # noqa: B018 - likewise
        prep = DrivingPrep(animator.image_size, self._driving_plan(reader))
        landmarker = self._find_best_landmarker()
        landmark_prep = DrivingPrep(LANDMARK_SIZE, prep.plan)
        smoother = self._smoother(reader.meta.fps)
        batches, counts, raw, landmarks = [], [], [], [] if landmarker else None
        total = reader.meta.n_frames
        start = 0
        with tqdm(total=total, unit="frame", desc="driving keypoints",
                  disable=not self.progress, dynamic_ncols=True) as bar:
            for chunk in iter_chunks(reader, self.chunk_size):
                for kp, count in driving_keypoints(animator, prep(chunk, start), self.batch_size):
                    raw.append(kp)
                    batches.append(smoother(kp) if smoother is not None else kp)
                    counts.append(count)
                if landmarker is not None:
                    landmarks.extend(landmarker(landmark_prep(f[None], start + i)[0])
                                     for i, f in enumerate(chunk))
                start += len(chunk)
                bar.update(len(chunk))
                self._progress("driving", start, total)
        if start == 0:
            raise InputError(f"driving video {reader.path} has no frames")
        if self.best_frame is not None and self.best_frame >= start:
            raise InputError(f"--best_frame {self.best_frame} is past the end of {reader.path} "
                             f"({start} frames)")
        return DrivingMotion(path=reader.path, fps=reader.meta.fps, frames=start,
                             batches=batches, counts=counts, raw=raw, landmarks=landmarks,
                             has_audio=self.audio and probe_streams(reader.path).has_audio)

    def _find_best_landmarker(self) -> Optional[Callable]:
        """dlib's landmarker when ``find_best_frame`` decides the reference frame, else None."""
        if not self.find_best_frame or self.best_frame is not None:
            return None
        if self._landmarker is None:
            from ppgan_app.faces.landmarks import DlibLandmarker

            self._landmarker = DlibLandmarker()
        return self._landmarker

    def _reference_index(self, portrait: Portrait, motion: DrivingMotion) -> int:
        """The driving frame that relative motion is measured from.

        Animating every frame against this one reference is what the original FOMM's
        forward-from-best / backward-to-start passes compute, so frames stay in order here.
        Landmarks are compared at LANDMARK_SIZE whatever the network's size.
        """
        index = 0
        if self.best_frame is not None:
            index = self.best_frame
        elif motion.landmarks is not None:
            index = best_frame_from(crop_resize(portrait.image, portrait.boxes[0], LANDMARK_SIZE),
                                    motion.landmarks, self._find_best_landmarker())
        logger.info("reference driving frame: %d", index)
        return index

    def _smoother(self, fps: float) -> Optional[Callable[[Any], Any]]:
        """The keypoint smoother of ``smooth`` (one per run: it keeps state), or ``None``."""
        if not self.smooth:
            return None
        from ppgan_app.faces.smoothing import KeypointSmoother

        logger.info("--smooth: One-Euro filter on the driving keypoints at %g fps", fps)
        return KeypointSmoother(fps)

    def _render(self, portrait: Portrait, motion: DrivingMotion,
                out_path: str) -> Tuple[int, bool]:
        """Animate one portrait with the driving keypoints and write it; return
        ``(frames, audio)``."""
        from tqdm.auto import tqdm

        animator, enhancer, upscaler = self.animator, self.enhancer, self.face_upscaler
        size = animator.image_size
        sources = [to_chw_float(crop_resize(portrait.image, box, size)[None])
                   for box in portrait.boxes]
        kp_sources = [animator.keypoints(s) for s in sources]
        kp_initial = motion.reference(self._reference_index(portrait, motion))
        compose = Compositor(portrait.image, portrait.boxes, self.ratio,
                             whole_image=portrait.whole)
        done = 0
        with Mp4Writer(out_path, motion.fps) as writer, \
                tqdm(total=motion.frames, unit="frame",
                     desc=f"animating {os.path.basename(portrait.path)}",
                     disable=not self.progress, dynamic_ncols=True) as bar:

            def paste_and_write(batch: Tuple[List[np.ndarray], int]) -> None:
                crops, count = batch
                for i in range(count):
                    writer.write(compose([face_crops[i] for face_crops in crops]))

            # compositing and encoding of one batch overlap the network's next batch
            with OrderedStage(paste_and_write, max_pending=2, name="paste-and-write") as stage:
                for kp_driving, count in zip(motion.batches, motion.counts):
                    crops = animate_batch(animator, kp_driving, sources, kp_sources, kp_initial,
                                          self.relative, self.adapt_scale)
                    if enhancer is not None:  # GPEN on the animated faces, before paste-back
                        crops = [enhancer.enhance(face_crops) for face_crops in crops]
                    if upscaler is not None:  # SR of the animated faces, before paste-back
                        crops = [upscaler.upscale(face_crops) for face_crops in crops]
                    stage.submit((crops, count))
                    done += count
                    bar.update(count)
                    self._progress("animating", done, motion.frames)
                stage.close()
            writer.finish(audio_source=motion.path if motion.has_audio else None)
        return writer.frames_written, motion.has_audio


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
