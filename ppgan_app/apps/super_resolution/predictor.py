"""``SuperResolutionPredictor``: upscale a picture or a video (PaddleGAN's ``RealSRPredictor``).

    predictor = SuperResolutionPredictor(output="output")                # RealSR's RRDBNet x4
    predictor = SuperResolutionPredictor(weight_path="run/iter_0001000_checkpoint.pdparams")
    path = predictor.run("photo.jpg")                  # output/photo_sr.png
    path = predictor.run("clip.mp4", "clip_x4.mp4")    # frames streamed, audio kept

Videos are decoded, upscaled and encoded one frame at a time (nothing holds the whole video);
results appear only complete (temp file, then rename), an earlier result is kept on failure.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import cv2
import numpy as np
from tqdm import tqdm

from ppgan_app.apps.super_resolution.networks import PRESETS, load_sr_network
from ppgan_app.apps.super_resolution.upscaler import DEFAULT_TILE, DEFAULT_TILE_OVERLAP, Upscaler
from ppgan_app.media.video import Mp4Writer, VideoReader
from ppgan_app.datasets.image_folder import IMAGE_EXTENSIONS, read_image
from ppgan_app.errors import InputError, OutputError
from ppgan_app.utils.safe_files import atomic_output, check_destination

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "realsr"


def is_image(path: str | Path) -> bool:
    """Whether ``path`` names a picture (by its extension); anything else is read as a video."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


class SuperResolutionPredictor:
    """Upscale pictures and videos with one SR network.

    Args:
        output: folder of results when ``run`` is given no output path.
        weight_path: a weight file (kit checkpoint, PaddleGAN model file or state dict); None:
            the published weights of ``model``, downloaded once into the cache.
        model: preset network (``realsr``, ``pan-x4``, ``esrgan-x4``, ``esrgan-psnr-x4``); says
            which network a bare state dict fits (a kit checkpoint names its own).
        tile, tile_overlap: tiling of large frames in low-resolution pixels (0: no tiling).
    """

    def __init__(self, output: str = "output", weight_path: Optional[str] = None,
                 model: str = DEFAULT_MODEL, tile: int = DEFAULT_TILE,
                 tile_overlap: int = DEFAULT_TILE_OVERLAP) -> None:
        if model not in PRESETS:
            raise InputError(f"unknown SR model {model!r}; choose one of {', '.join(PRESETS)}")
        self.output = Path(output)
        self.network = load_sr_network(weight_path or model, arch=model)
        self.scale = self.network.scale
        self.upscaler = Upscaler(self.network.net, self.scale, tile, tile_overlap)

    def run_image(self, img: np.ndarray) -> np.ndarray:
        """``[H, W, 3]`` uint8 RGB -> ``[scale*H, scale*W, 3]`` uint8 RGB."""
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise InputError(f"expected an [H, W, 3] uint8 RGB picture, got {img.shape} {img.dtype}")
        return self.upscaler.upscale(img, progress=True)

    def default_output(self, input_path: str | Path) -> Path:
        """``<output>/<stem>_sr.png`` for a picture, ``<output>/<stem>_sr.mp4`` for a video."""
        stem = Path(input_path).stem
        return self.output / f"{stem}_sr{'.png' if is_image(input_path) else '.mp4'}"

    def run(self, input_path: str | Path, output_path: Optional[str | Path] = None) -> str:
        """Upscale a picture or a video file; return the path written.

        Raises:
            InputError: unreadable input, or an output that cannot be written (checked first).
            OutputError, ExternalToolError: writing or encoding failed (no partial file is left).
        """
        input_path = Path(input_path)
        if not input_path.is_file():
            raise InputError(f"input not found: {input_path}")
        output_path = Path(output_path) if output_path is not None else self.default_output(input_path)
        check_output_kind(input_path, output_path)
        check_destination(output_path)
        if is_image(input_path):
            return self._run_picture(input_path, output_path)
        return self._run_video(input_path, output_path)

    def _run_picture(self, input_path: Path, output_path: Path) -> str:
        result = self.run_image(read_image(input_path))
        with atomic_output(output_path) as tmp:
            if not cv2.imwrite(str(tmp), cv2.cvtColor(result, cv2.COLOR_RGB2BGR)):
                raise OutputError(f"could not write {output_path} (unsupported extension or disk full)")
        logger.info("upscaled x%d picture written to %s", self.scale, output_path)
        return str(output_path)

    def _run_video(self, input_path: Path, output_path: Path) -> str:
        reader = VideoReader(str(input_path))
        with Mp4Writer(str(output_path), reader.meta.fps) as writer:
            for frame in tqdm(reader, total=reader.meta.n_frames, desc="frames", unit="frame"):
                writer.write(self.upscaler.upscale(frame))
            if writer.frames_written == 0:
                raise InputError(f"{input_path} holds no frames")
            path = writer.finish(audio_source=str(input_path))
        logger.info("upscaled x%d video (%d frames, audio kept if any) written to %s", self.scale,
                    writer.frames_written, path)
        return path


def check_output_kind(input_path: Path, output_path: Path) -> None:
    """A picture goes to a picture file, a video to an ``.mp4``.

    Raises:
        InputError: the output's extension does not fit the input.
    """
    if is_image(input_path) and not is_image(output_path):
        raise InputError(f"{input_path} is a picture: give an image output name "
                         f"({', '.join(IMAGE_EXTENSIONS)}), not {output_path.name}")
    if not is_image(input_path) and output_path.suffix.lower() != ".mp4":
        raise InputError(f"{input_path} is read as a video: give an .mp4 output name, not {output_path.name}")


#: PaddleGAN's name for this predictor (``ppgan.apps.RealSRPredictor``); defaults to RealSR's network.
RealSRPredictor = SuperResolutionPredictor
