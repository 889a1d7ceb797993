"""Make the bundled expression-transfer sample (run once; the outputs are committed).

Writes ``ppgan_app/assets/fomm_source.jpg`` (the public-domain NASA astronaut portrait that ships
with scikit-image) and ``ppgan_app/assets/fomm_driving.mp4``: a 4 s, 25 fps, 256x256 face clip
with a synthetic sound track. The clip is the same portrait, mirrored and colour-graded, given
natural-looking head motion — turn (yaw), nod (pitch) and tilt (roll) as perspective warps of a
plane rotating about the head centre — and a jaw that opens on each syllable of the sound
(a harmonic "voice" whose loudness follows the mouth).

Usage: python applications/samples/make_fomm_sample.py [--out ppgan_app/assets]
"""
from __future__ import annotations

import argparse
import logging
import os
import tempfile
import wave

import cv2
import numpy as np

from ppgan_app.media.video import Mp4Writer

logger = logging.getLogger(__name__)

FPS = 25
SECONDS = 4.0
SIZE = 256
AUDIO_RATE = 16000
FACE_CENTER = (222.0, 128.0)  # astronaut face centre (x, y) in the 512x512 image
MOUTH = (223.0, 146.0)  # mouth centre
CHIN_Y = 178.0
CROP_SIDE = 210  # square around the face that becomes the 256x256 clip
FOCAL = 600.0  # pixels: strength of the perspective of the head rotation


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def mouth_opening(t: np.ndarray) -> np.ndarray:
    """Jaw drop in pixels at times ``t`` (s): syllables at 2.5 Hz in two phrases."""
    phrase = (smoothstep((t - 0.3) / 0.1) * (1 - smoothstep((t - 1.8) / 0.1))
              + smoothstep((t - 2.3) / 0.1) * (1 - smoothstep((t - 3.7) / 0.1)))
    return 5.0 * np.maximum(0.0, np.sin(2 * np.pi * 2.5 * (t - 0.3))) ** 1.5 * phrase


def head_angles(t: float) -> tuple:
    """(yaw, pitch, roll) in radians at time ``t``: slow turn, two nods, gentle tilt."""
    yaw = np.deg2rad(14.0) * np.sin(2 * np.pi * t / 3.2)
    pitch = np.deg2rad(8.0) * np.sin(2 * np.pi * t / 1.6 + 0.5)
    roll = np.deg2rad(6.0) * np.sin(2 * np.pi * t / 4.0 + 1.0)
    return yaw, pitch, roll


def rotation_homography(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """3x3 homography of the face plane rotating about the face centre, seen by a pinhole camera."""
    cy, sy = np.cos(yaw), np.sin(yaw)
    cp, sp = np.cos(pitch), np.sin(pitch)
    cr, sr = np.cos(roll), np.sin(roll)
    r_yaw = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    r_pitch = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    r_roll = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    rot = r_roll @ r_pitch @ r_yaw
    e3 = np.array([[0.0], [0.0], [1.0]])
    plane = rot + (e3 - rot @ e3) @ e3.T  # rotation about the point on the optical axis, depth 1
    k = np.array([[FOCAL, 0, FACE_CENTER[0]], [0, FOCAL, FACE_CENTER[1]], [0, 0, 1]])
    return k @ plane @ np.linalg.inv(k)


def open_mouth(image: np.ndarray, amount: float) -> np.ndarray:
    """Drop the jaw of ``image [H,W,3] uint8`` by ``amount`` pixels, darkening the lip gap."""
    if amount <= 0.05:
        return image
    h, w = image.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    across = np.exp(-((xs - MOUTH[0]) / 30.0) ** 2)
    below = smoothstep((ys - (MOUTH[1] - 1.0)) / 5.0) * (1 - smoothstep((ys - CHIN_Y - 5) / 30.0))
    dy = amount * across * below
    stretch = np.clip(np.gradient(dy, axis=0), 0.0, None)
    lips = np.exp(-((xs - MOUTH[0]) / 13.0) ** 4)  # the gap only shows between the lips
    warped = cv2.remap(image, xs, ys - dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    shade = 1.0 - np.clip(0.8 * stretch * lips, 0.0, 0.7)
    return np.clip(warped * shade[:, :, None], 0, 255).astype(np.uint8)


def driving_frame(portrait: np.ndarray, t: float) -> np.ndarray:
    """The clip's frame at time ``t``: ``[SIZE,SIZE,3] uint8``."""
    img = open_mouth(portrait, float(mouth_opening(np.array(t))))
    hom = rotation_homography(*head_angles(t))
    img = cv2.warpPerspective(img, hom, (img.shape[1], img.shape[0]), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REFLECT)
    x0 = int(FACE_CENTER[0] - CROP_SIDE / 2)
    y0 = int(FACE_CENTER[1] - CROP_SIDE / 2 - 8)
    crop = img[y0:y0 + CROP_SIDE, x0:x0 + CROP_SIDE]
    crop = cv2.resize(crop, (SIZE, SIZE), interpolation=cv2.INTER_AREA)[:, ::-1]  # mirrored
    graded = crop.astype(np.float32) * np.array([1.06, 1.0, 0.9]) + np.array([4.0, 0.0, -2.0])
    return np.clip(graded, 0, 255).astype(np.uint8)


def voice(n_samples: int) -> np.ndarray:
    """A hummed "voice" ``[n] int16``: harmonics of a 150 Hz vibrato tone, loud when the mouth
    opens."""
    t = np.arange(n_samples) / AUDIO_RATE
    f0 = 150.0 * (1 + 0.03 * np.sin(2 * np.pi * 5.0 * t)) * (1 + 0.08 * np.sin(2 * np.pi * 0.4 * t))
    phase = 2 * np.pi * np.cumsum(f0) / AUDIO_RATE
    formants = (800.0, 1200.0, 2500.0)
    sig = np.zeros_like(t)
    for k in range(1, 20):
        gain = sum(np.exp(-((k * 150.0 - f) / 250.0) ** 2) for f in formants) + 0.3 / k
        sig += gain * np.sin(k * phase)
    envelope = mouth_opening(t) / 5.0
    sig = sig / np.max(np.abs(sig)) * (0.05 + 0.95 * envelope)
    rng = np.random.default_rng(0)
    sig += 0.01 * rng.standard_normal(n_samples)
    return (np.clip(sig, -1, 1) * 0.6 * 32767).astype(np.int16)


def write_wav(path: str, samples: np.ndarray) -> None:
    with wave.open(path, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(AUDIO_RATE)
        wav.writeframes(samples.tobytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join("ppgan_app", "assets"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from skimage import data

    portrait = data.astronaut()
    os.makedirs(args.out, exist_ok=True)
    cv2.imwrite(os.path.join(args.out, "fomm_source.jpg"),
                cv2.cvtColor(portrait, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    n_frames = int(FPS * SECONDS)
    with tempfile.TemporaryDirectory() as tmp:
        wav = os.path.join(tmp, "voice.wav")
        write_wav(wav, voice(int(AUDIO_RATE * SECONDS)))
        with Mp4Writer(os.path.join(args.out, "fomm_driving.mp4"), FPS, quality=6) as writer:
            for i in range(n_frames):
                writer.write(driving_frame(portrait, i / FPS))
            path = writer.finish(audio_source=wav)
    logger.info("wrote %s (%d frames) and fomm_source.jpg", path, n_frames)


if __name__ == "__main__":
    main()
