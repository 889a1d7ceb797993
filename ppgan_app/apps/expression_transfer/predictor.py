"""Expression transfer with the First Order Motion Model: the pipeline around the networks.

Steps (each a small function below): read the source portrait → detect faces → crop each face
with PaddleGAN's margin rule, other faces filled out (:mod:`.portrait`) → pick the reference
driving frame (the first with a face, ``best_frame`` or the pose-closest one) → plan the driving crop (one square per shot; see
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
from ppgan_app.apps.expression_transfer.motion import (  # noqa: F401 - to_chw_float re-exported
    DrivingMotion, animate_batch, collinear_reference, driving_keypoints, to_chw_float)
from ppgan_app.apps.expression_transfer.options import TransferOptions, check_filename
from ppgan_app.utils.ordered_stage import OrderedStage
from ppgan_app.media.video import Mp4Writer, VideoReader, iter_chunks
from ppgan_app.apps.expression_transfer.batch import (BatchSummary, PortraitResult,
                                                     batch_names, list_portraits)
from ppgan_app.errors import InputError
from ppgan_app.apps.expression_transfer.portrait import (Portrait, PortraitRenderer, face_crop,
                                                        neighbour_keep_out)
from ppgan_app.faces.crop import Box, crop_resize, faces_and_crops
from ppgan_app.faces.driving_crop import DrivingCropPlan, no_crop_plan, plan_driving_crop
from ppgan_app.utils.safe_files import check_destination, clean_stale_temps

logger = logging.getLogger(__name__)

#: Driving frames held at once when ``slice_size`` is 0.
DEFAULT_CHUNK = 16
#: Side of the face images that ``find_best_frame`` compares landmarks on.
LANDMARK_SIZE = 256
#: Driving frames searched for a face to measure relative motion from (a clip may open on
#: black or faceless frames); past this, frame 0 is used.
REFERENCE_SEARCH = 300


def sample_paths() -> Tuple[str, str]:
    """The bundled sample: ``(source portrait, driving video)`` file paths."""
    folder = resources.files("ppgan_app") / "assets"
    return str(folder / "fomm_source.jpg"), str(folder / "fomm_driving.mp4")


def result_path(video_path: str, still: bool, inputs: Sequence[str]) -> str:
    """Where a result goes: ``video_path``, or with a still driving picture the same name as
    a PNG (the portrait with the picture's expression).

    Raises:
        InputError: that PNG would overwrite one of the ``inputs``.
    """
    if not still:
        return video_path
    picture = os.path.splitext(video_path)[0] + ".png"
    if any(os.path.abspath(picture) == os.path.abspath(p) for p in inputs):
        raise InputError(f"the result picture {picture} would overwrite an input; choose "
                         "another --output folder")
    return picture


@dataclass(frozen=True)
class RunSummary:
    """What one :meth:`FirstOrderPredictor.run_with_summary` call produced."""

    path: str  #: the output mp4 (a PNG when the driving input is a still picture)
    frames: int  #: frames written (= driving frames)
    fps: float  #: output frame rate (= the driving video's)
    seconds: float  #: wall time of the run
    faces: int  #: faces animated
    audio: bool  #: the output has the driving video's audio
    still: bool = False  #: the driving "video" was a still picture: ``path`` is a PNG


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
                      multi_person: bool, no_face_ok: bool
                      ) -> Tuple[List[Tuple[float, ...]], List[Box], bool]:
    """The faces in a portrait and the crop boxes of those to animate, largest first.

    Returns:
        ``(faces, boxes, whole_image)``: ``faces`` every distinct face found (``(x1, y1, x2,
        y2)``; the ones not animated still matter: they are kept out of the others' crops),
        ``boxes`` the crops of the faces to animate (all with ``multi_person``, else the
        largest); ``whole_image`` is True when no face was found and ``no_face_ok`` asked to
        animate the whole image (one box covering it).

    Raises:
        InputError: no face found and ``no_face_ok`` is False.
    """
    found = faces_and_crops(detect(image), image.shape[:2])
    if not found:
        if not no_face_ok:
            raise InputError("no face found in the source image; try another --face_detector "
                             "(yunet, blazeface, dlib, sfd), a larger image of the face, or "
                             "--no_face_ok to animate the whole image")
        logger.warning("no face found in the source image: animating the whole image")
        return [], [(0, 0, image.shape[1], image.shape[0])], True
    logger.info("%d face(s) found in the source; animating %s", len(found),
                "all" if multi_person else "the largest")
    faces = [face for face, _ in found]
    boxes = [crop for _, crop in found]
    return faces, (boxes if multi_person else boxes[:1]), False


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


class FaceSearch:
    """Looks for the driving video's face while it is decoded: the first frame that shows one
    (searched up to :data:`REFERENCE_SEARCH` frames) and, for ``find_best_frame``, every
    frame's landmarks.

    Args:
        landmarker: ``image [S,S,3] uint8 -> [K,2] landmarks or None``.
        prep: the driving crop at the size landmarks are found at.
        every_frame: keep every frame's landmarks (``find_best_frame``).
        search: look for the first face at all (not when ``best_frame`` decides).
    """

    def __init__(self, landmarker: Callable, prep: DrivingPrep, every_frame: bool,
                 search: bool = True) -> None:
        self.landmarker = landmarker
        self.prep = prep
        self.search = search or every_frame
        #: per frame ``[K,2]`` or ``None`` when ``every_frame``, else ``None``
        self.landmarks: Optional[List[Optional[np.ndarray]]] = [] if every_frame else None
        self.first: Optional[int] = None  #: first frame with a face

    def scan(self, frames: np.ndarray, start: int) -> None:
        """Look at raw frames ``start, start+1, ...`` (``[n,H,W,3] uint8``)."""
        if not self.search:
            return
        for i, frame in enumerate(frames):
            index = start + i
            if self.landmarks is None and (self.first is not None or index >= REFERENCE_SEARCH):
                return
            points = self.landmarker(self.prep(frame[None], index)[0])
            if self.landmarks is not None:
                self.landmarks.append(points)
            if points is not None and self.first is None:
                self.first = index


def find_best_frame(source_face: np.ndarray, frames: Iterable[np.ndarray],
                    prep: DrivingPrep, landmarker: Optional[Callable] = None) -> int:
    """Index of the driving frame whose face pose is closest to the source face's.

    Args:
        source_face: ``[S,S,3] uint8`` the source face crop.
        frames: the raw driving frames (streamed).
        prep: the driving preprocessing (crop, resize to the same ``S``), so landmarks are
            compared on the images the network animates from, at a size dlib can handle.
        landmarker: ``image -> [K,2] or None``; default YuNet's five landmarks.
    """
    from ppgan_app.faces.landmarks import YuNetLandmarker

    landmarker = landmarker or YuNetLandmarker()
    return best_frame_from(source_face, (landmarker(prep(f[None], i)[0])
                                         for i, f in enumerate(frames)), landmarker)


def best_frame_from(source_face: np.ndarray, driving_landmarks: Iterable[Optional[np.ndarray]],
                    landmarker: Callable) -> int:
    """Index of the driving frame whose landmarks (``[K,2]`` or ``None`` per frame) are
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
        face_upscaler: an object with ``upscale(crops [n,S,S,3] uint8) -> [n,f*S,f*S,3]``
            to use instead of building the SR network for ``super_resolution``.
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
                 face_upscaler: Any = None,
                 on_progress: Optional[Callable[[str, int, Optional[int]], None]] = None,
                 **kwargs: Any) -> None:
        if options is not None and kwargs:
            raise InputError("pass either options or keyword arguments, not both")
        self.options = options or TransferOptions.from_kwargs(**kwargs)
        if self.options.face_enhancement and enhancer is None:
            check_enhancement_available()
        self._animator = animator
        self._enhancer = enhancer
        self._face_upscaler = face_upscaler
        self._detector = None
        self._landmarker_cache: Optional[Callable] = None
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
                precision=self.precision, threads=self.threads)
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
        reader = VideoReader(driving_video)
        out_path = result_path(os.path.join(self.output, check_filename(filename or
                                                                         self.filename)),
                               reader.still, [source_image, driving_video])
        check_destination(out_path)  # before any work: a folder in the way, a read-only disk
        clean_stale_temps(out_path)
        portrait = self._portrait(source_image)
        motion = self._driving_motion(reader)
        frames, audio = self._render(portrait, motion, out_path)
        return RunSummary(path=out_path, frames=frames, fps=motion.fps,
                          seconds=time.perf_counter() - start, faces=len(portrait.boxes),
                          audio=audio, still=motion.still)

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
        reader = VideoReader(driving_video)
        out_paths = [result_path(os.path.join(self.output, name), reader.still,
                                 [*portraits, driving_video])
                     for name in batch_names(portraits)]
        for out_path in out_paths:
            check_destination(out_path)
            clean_stale_temps(out_path)
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
        faces, boxes, whole = source_face_boxes(image, self.detector, self.multi_person,
                                                self.no_face_ok)
        return Portrait(path=path, image=image, boxes=boxes, whole=whole, faces=faces,
                        keep_out=neighbour_keep_out(image.shape[:2], faces, boxes))

    def _driving_plan(self, reader: VideoReader) -> DrivingCropPlan:
        """Where to crop each driving frame (``crop_driving``: auto, on, off)."""
        if self.crop_driving == "off":
            return no_crop_plan()
        return plan_driving_crop(reader, reader.meta.n_frames, self.detector, self.crop_driving)

    def _progress(self, stage: str, done: int, total: Optional[int]) -> None:
        if self._on_progress is not None:
            self._on_progress(stage, done, total)

    def _driving_motion(self, reader: VideoReader) -> DrivingMotion:
        """Decode the driving video once: keypoints of every frame, in chunks of
        ``chunk_size`` frames, the first frame where a face is found and, for
        ``find_best_frame``, every frame's landmarks.

        Raises:
            InputError: no frames, or ``best_frame`` past the end.
        """
        from tqdm.auto import tqdm

        from ppgan_app.media.video import probe_streams

        animator = self.animator
        self.enhancer  # noqa: B018 - built (its weights found) before any frame is written
        self.face_upscaler  # noqa: B018 - likewise
        prep = DrivingPrep(animator.image_size, self._driving_plan(reader))
        faces = FaceSearch(self._landmarker(), DrivingPrep(LANDMARK_SIZE, prep.plan),
                           every_frame=self.find_best_frame and self.best_frame is None,
                           search=self.best_frame is None and self.relative)
        smoother = self._smoother(reader.meta.fps)
        batches, counts, raw = [], [], []
        total = reader.meta.n_frames
        start = 0
        with tqdm(total=total, unit="frame", desc="driving keypoints",
                  disable=not self.progress, dynamic_ncols=True) as bar:
            for chunk in iter_chunks(reader, self.chunk_size):
                for kp, count in driving_keypoints(animator, prep(chunk, start), self.batch_size):
                    raw.append(kp)
                    batches.append(smoother(kp) if smoother is not None else kp)
                    counts.append(count)
                faces.scan(chunk, start)
                start += len(chunk)
                bar.update(len(chunk))
                self._progress("driving", start, total)
        if start == 0:
            raise InputError(f"driving video {reader.path} has no frames")
        if self.best_frame is not None and self.best_frame >= start:
            raise InputError(f"--best_frame {self.best_frame} is past the end of {reader.path} "
                             f"({start} frames)")
        return DrivingMotion(path=reader.path, fps=reader.meta.fps, frames=start,
                             batches=batches, counts=counts, raw=raw,
                             landmarks=faces.landmarks, first_face=faces.first,
                             has_audio=self.audio and probe_streams(reader.path).has_audio,
                             still=reader.still)

    def _landmarker(self) -> Callable:
        """YuNet's five landmarks (built once): finds the reference frame's face and the
        poses ``find_best_frame`` compares."""
        if self._landmarker_cache is None:
            from ppgan_app.faces.landmarks import YuNetLandmarker

            self._landmarker_cache = YuNetLandmarker()
        return self._landmarker_cache

    def _reference_index(self, portrait: Portrait, motion: DrivingMotion) -> int:
        """The driving frame that relative motion is measured from, logged with why.

        ``best_frame`` if given; with ``find_best_frame`` the frame whose face pose is closest to
        the portrait's; else the first frame where a face is found (a clip may open on black
        frames). Animating every frame against this one reference is what the original FOMM's
        forward-from-best / backward-to-start passes compute, so frames stay in order here.
        Landmarks are compared at LANDMARK_SIZE whatever the network's size.
        """
        if self.best_frame is not None:
            logger.info("reference driving frame: %d (--best_frame)", self.best_frame)
            return self.best_frame
        if not self.relative and motion.landmarks is None:
            return 0  # absolute motion does not use a reference frame
        if motion.first_face is None:
            logger.warning("no face found in the first %d driving frames; measuring motion "
                           "from frame 0", min(motion.frames, REFERENCE_SEARCH))
            return 0
        if motion.landmarks is not None:
            index = best_frame_from(face_crop(portrait, 0, LANDMARK_SIZE), motion.landmarks,
                                    self._landmarker())
            logger.info("reference driving frame: %d (--find_best_frame: closest in pose to "
                        "the portrait)", index)
            return index
        if motion.first_face > 0:
            logger.info("reference driving frame: %d (the first with a face; frames 0-%d show "
                        "none)", motion.first_face, motion.first_face - 1)
        else:
            logger.info("reference driving frame: 0")
        return motion.first_face

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

        enhancer, upscaler = self.enhancer, self.face_upscaler
        renderer = PortraitRenderer(portrait, self.animator, self.ratio)
        if motion.still:
            return self._render_still(renderer, motion, out_path), False
        reference = self._reference_index(portrait, motion)
        kp_initial = motion.reference(reference)
        if self.adapt_scale and self.relative and collinear_reference(kp_initial):
            logger.warning("driving keypoints of reference frame %d are collinear (hull area 0): "
                           "--adapt_scale uses a movement scale of 1 for all %d frames",
                           reference, motion.frames)
        done = 0
        with Mp4Writer(out_path, motion.fps) as writer, \
                tqdm(total=motion.frames, unit="frame",
                     desc=f"animating {os.path.basename(portrait.path)}",
                     disable=not self.progress, dynamic_ncols=True) as bar:

            def paste_and_write(crops: List[np.ndarray]) -> None:
                for frame in renderer.frames(crops):
                    writer.write(frame)

            # compositing and encoding of one batch overlap the network's next batch
            with OrderedStage(paste_and_write, max_pending=2, name="paste-and-write") as stage:
                for kp_driving, count in zip(motion.batches, motion.counts):
                    crops = renderer.crops(kp_driving, kp_initial, self.relative,
                                           self.adapt_scale)
                    if enhancer is not None:  # GPEN on the animated faces, before paste-back
                        crops = [enhancer.enhance(face_crops) for face_crops in crops]
                    if upscaler is not None:  # SR of the animated faces, before paste-back
                        crops = [upscaler.upscale(face_crops) for face_crops in crops]
                    stage.submit(crops)
                    done += count
                    bar.update(count)
                    self._progress("animating", done, motion.frames)
                stage.close()
            writer.finish(audio_source=motion.path if motion.has_audio else None)
        return writer.frames_written, motion.has_audio


    def _render_still(self, renderer: PortraitRenderer, motion: DrivingMotion,
                      out_path: str) -> int:
        """A still driving picture: give the portrait its expression and write one PNG.

        A single frame has no motion to measure relative to, so its keypoints are used as
        they are (FOMM's absolute mode), which is what "take this expression" means.
        """
        from PIL import Image

        from ppgan_app.utils.safe_files import atomic_output

        logger.info("the driving input %s is a still picture: the portrait takes its "
                    "expression, written as a picture to %s", motion.path, out_path)
        kp_driving = motion.reference(0)
        crops = renderer.crops(kp_driving, kp_driving, relative=False, adapt_scale=False)
        if self.enhancer is not None:
            crops = [self.enhancer.enhance(face_crops) for face_crops in crops]
        if self.face_upscaler is not None:
            crops = [self.face_upscaler.upscale(face_crops) for face_crops in crops]
        (frame,) = renderer.frames([face_crops[:1] for face_crops in crops])
        with atomic_output(out_path) as tmp:
            Image.fromarray(frame).save(tmp, format="PNG")
        return 1


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
