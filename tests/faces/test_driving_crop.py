"""--crop_driving auto/on/off: a wide shot is cropped, a face-crop clip is left alone, scene
cuts and face jumps start new squares, and every decision is logged."""
from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest

from ppgan_app.faces.driving_crop import plan_driving_crop


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    from skimage.data import astronaut

    return cv2.resize(astronaut()[40:300, 130:330], (100, 130), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def yunet():
    pytest.importorskip("yuface")
    from ppgan_app.faces.detectors import build_face_detector

    return build_face_detector("yunet")


def _wide_shot(face, frames=20, x=60, background=90):
    out = []
    for t in range(frames):
        frame = np.full((240, 427, 3), background, np.uint8)
        dx = int(3 * np.sin(t / 3))  # a little head motion
        frame[50:180, x + dx:x + dx + 100] = face
        out.append(frame)
    return out


def test_wide_shot_is_cropped_around_the_face(face, yunet, caplog):
    with caplog.at_level(logging.INFO, logger="ppgan_app.faces.driving_crop"):
        plan = plan_driving_crop(_wide_shot(face), 20, yunet, "auto")
    (shot,) = plan.shots
    x1, y1, x2, y2 = shot.box
    assert x2 - x1 == y2 - y1 < 0.8 * 240
    assert x1 < 60 + 50 < x2 and y1 < 115 < y2  # the face centre is inside
    assert "cropped" in caplog.text


def test_face_crop_clip_is_left_alone(yunet):
    from ppgan_app.apps.expression_transfer.predictor import sample_paths
    from ppgan_app.media.video import VideoReader

    frames = list(VideoReader(sample_paths()[1]))[:30]
    plan = plan_driving_crop(frames, len(frames), yunet, "auto")
    assert not plan.crops and "used as it is" in plan.shots[0].reason
    forced = plan_driving_crop(frames, len(frames), yunet, "on")
    assert forced.crops
    assert plan_driving_crop(iter(()), None, yunet, "off").box_at(5) is None


def test_scene_cut_starts_a_new_square(face, yunet):
    frames = _wide_shot(face, 12, x=40, background=60) + _wide_shot(face, 12, x=290,
                                                                     background=200)
    plan = plan_driving_crop(frames, len(frames), yunet, "auto")
    assert [s.start for s in plan.shots] == [0, 12]
    left, right = plan.box_at(3), plan.box_at(20)
    assert left[0] < 90 < left[2] and right[0] < 340 < right[2]


def test_face_jump_without_a_cut_starts_a_new_square():
    frames = [np.full((200, 400, 3), 100 + (t >= 10) * 3, np.uint8) for t in range(20)]

    def detect(image):  # a face that jumps from left to right at frame 10 (no scene cut)
        x = 20 if image[0, 0, 0] == 100 else 300
        return np.array([[x, 50, x + 50, 100, 0.9]], np.float32)

    plan = plan_driving_crop(frames, 20, detect, "auto")
    assert [s.start for s in plan.shots] == [0, 10]
    assert plan.box_at(0)[0] < 45 < plan.box_at(0)[2]
    assert plan.box_at(15)[0] < 325 < plan.box_at(15)[2]


def test_no_face_keeps_whole_frames_with_a_warning(caplog):
    frames = [np.zeros((64, 64, 3), np.uint8)] * 5
    with caplog.at_level(logging.WARNING):
        plan = plan_driving_crop(frames, 5, lambda image: np.zeros((0, 5), np.float32), "on")
    assert plan.box_at(2) is None and "no face" in caplog.text
