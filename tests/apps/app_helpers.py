"""Helpers shared by tests/apps and tests/cli: a fake animator, tiny media files, a tiny FOMM."""
from __future__ import annotations

import os
import wave

import numpy as np

from ppgan_app.media.video import Mp4Writer


class FakeAnimator:
    """Stands in for the FOMM networks: keypoints are the frames' mean colours ``[N,3]`` and the
    animation shifts the source's colours by the driving motion, so a wrong frame order, a wrong
    reference frame or a batch mix-up changes the output."""

    def __init__(self, image_size: int = 64) -> None:
        self.image_size = image_size
        self.keypoint_calls = 0

    def keypoints(self, frames: np.ndarray) -> np.ndarray:
        assert frames.dtype == np.float32 and frames.ndim == 4 and frames.shape[1] == 3
        assert frames.shape[2] == frames.shape[3] == self.image_size
        assert 0.0 <= frames.min() and frames.max() <= 1.0
        self.keypoint_calls += 1
        return frames.mean(axis=(2, 3))

    def animate(self, source, kp_source, kp_driving, kp_driving_initial, *, relative,
                adapt_scale):
        assert source.shape == (1, 3, self.image_size, self.image_size)
        motion = kp_driving - kp_driving_initial if relative else kp_driving - kp_source
        out = source + 2.0 * motion[:, :, None, None]
        return np.clip(out, 0.0, 1.0).astype(np.float32)


def write_wav(path: str, seconds: float, rate: int = 8000) -> str:
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16)
    with wave.open(path, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())
    return path


def write_clip(path: str, n_frames: int = 12, fps: float = 10.0, size=(48, 40),
               audio: bool = False) -> str:
    """A tiny clip of smoothly changing colours; ``size`` is (width, height)."""
    folder = os.path.dirname(path)
    with Mp4Writer(path, fps) as writer:
        for i in range(n_frames):
            frame = np.zeros((size[1], size[0], 3), np.uint8)
            frame[..., 0] = 40 + 12 * i
            frame[..., 1] = np.linspace(0, 200, size[0], dtype=np.uint8)[None, :]
            frame[..., 2] = 120
            writer.write(frame)
        wav = write_wav(os.path.join(folder, "tone.wav"), n_frames / fps) if audio else None
        writer.finish(audio_source=wav)
    return path


#: A FOMM small enough to run a few 64x64 frames in well under a second (random weights).
TINY_CONFIG = "firstorder_tiny_64"


def make_tiny_checkpoint(folder) -> dict:
    """Write a random-weight checkpoint of the packaged tiny FOMM; return config and weights paths."""
    import paddle

    from ppgan_app.models.firstorder import build_fomm_networks
    from ppgan_app.utils.resources import packaged_config

    config = str(packaged_config(TINY_CONFIG))
    paddle.seed(0)
    kp_detector, generator = build_fomm_networks(config)
    weights = os.path.join(str(folder), "tiny_fomm.pdparams")
    paddle.save({"kp_detector": kp_detector.state_dict(),
                 "generator": generator.state_dict()}, weights)
    return {"config": config, "weights": weights, "image_size": 64}


def ffprobe(path: str) -> dict:
    """Parse ``ffmpeg -i`` stderr (the bundled ffmpeg): video codec, fps, audio presence."""
    import re
    import subprocess

    import imageio_ffmpeg

    err = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", path],
                         capture_output=True, text=True).stderr
    video = re.search(r"Video: (\w+).*?, (\d+(?:\.\d+)?) fps", err)
    return {"codec": video.group(1) if video else None,
            "fps": float(video.group(2)) if video else None,
            "audio": "Audio:" in err}


def make_media(folder) -> dict:
    """Paths of small inputs: the astronaut portrait, clips with and without sound."""
    from skimage import data
    from PIL import Image

    portrait = str(folder / "astronaut.png")
    Image.fromarray(data.astronaut()).save(portrait)
    return {
        "portrait": portrait,
        "clip": write_clip(str(folder / "clip.mp4"), audio=False),
        "clip_audio": write_clip(str(folder / "clip_audio.mp4"), audio=True),
        "folder": folder,
    }


def tiny_gan_checkpoint(folder, n_class: int = 0) -> str:
    """An untrained tiny DCGAN checkpoint (conditional with ``n_class`` classes), written with
    the engine's checkpoint functions: 32x32 grey images, z of 8."""
    from pathlib import Path

    from ppgan_app.engine.checkpoint import save_checkpoint, training_state
    from ppgan_app.registries import MODELS
    from ppgan_app.utils.config import load_config
    from ppgan_app.utils.registry import build_from_config

    configs = Path(__file__).resolve().parents[2] / "configs"
    name = "cond_dcgan_fashion_mnist.yaml" if n_class else "dcgan_fashion_mnist.yaml"
    overrides = ["model.generator.nz=8", "model.generator.ngf=4", "model.discriminator.ndf=4",
                 "model.init_type=null", f"output_dir={folder}"]
    if n_class:
        overrides += [f"model.generator.n_class={n_class}",
                      f"model.discriminator.n_class={n_class}"]
    cfg = load_config(configs / name, overrides)
    model = build_from_config(cfg["model"], MODELS)
    path = Path(folder) / "iter_0000000_checkpoint.pdparams"
    return str(save_checkpoint(training_state(model, 0, cfg), path))
