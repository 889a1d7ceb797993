"""The Live tab's per-frame engine: reference pose, reset, webcam crop, paste-back."""
import numpy as np
import pytest

from ppgan_app.apps.web.frame_animator import FrameAnimator
from ppgan_app.errors import InputError

from app_helpers import FakeAnimator


def portrait_and_detector():
    """A smooth 96x128 portrait (resampling keeps it), and a detector of one box per image."""
    image = np.zeros((96, 128, 3), np.uint8)
    image[...] = np.linspace(60, 140, 128, dtype=np.uint8)[None, :, None]

    def detect(frame):
        h, w = frame.shape[:2]
        return np.array([[w * 0.35, h * 0.3, w * 0.65, h * 0.6, 0.9]], np.float32)

    return image, detect


def webcam(brightness: int) -> np.ndarray:
    return np.full((120, 160, 3), brightness, np.uint8)


def test_the_reference_frame_gives_the_portrait_back_and_motion_changes_it():
    image, detect = portrait_and_detector()
    engine = FrameAnimator(FakeAnimator(64), detect)
    assert engine.set_source(image) == 1
    first = engine(webcam(100))
    assert first.shape == image.shape and first.dtype == np.uint8
    # relative motion from the reference frame: none on the reference itself
    assert np.abs(first.astype(int) - image.astype(int)).max() <= 3
    moved = engine(webcam(160))
    assert np.abs(moved.astype(int) - image.astype(int)).max() > 40


def test_reset_takes_the_next_frame_as_the_new_reference():
    image, detect = portrait_and_detector()
    engine = FrameAnimator(FakeAnimator(64), detect)
    engine.set_source(image)
    engine(webcam(100))
    assert np.abs(engine(webcam(160)).astype(int) - image.astype(int)).max() > 40
    engine.reset()
    assert np.abs(engine(webcam(160)).astype(int) - image.astype(int)).max() <= 3


def test_without_a_face_the_whole_portrait_and_the_central_square_are_used():
    image, _ = portrait_and_detector()
    engine = FrameAnimator(FakeAnimator(64), lambda frame: np.zeros((0, 5), np.float32))
    assert engine.set_source(image) == 0
    assert engine(webcam(100)).shape == image.shape
    assert engine._box == (20, 0, 140, 120)  # the central 120x120 square of a 160x120 frame


def test_a_frame_before_the_portrait_is_an_input_error():
    with pytest.raises(InputError, match="portrait"):
        FrameAnimator(FakeAnimator(64), lambda f: np.zeros((0, 5)))(webcam(100))


def test_the_live_service_animates_frames_and_reports_fps(tmp_path):
    from PIL import Image

    from ppgan_app.apps.web.live_tab import LiveService

    image, detect = portrait_and_detector()
    path = tmp_path / "portrait.png"
    Image.fromarray(image).save(path)
    live = LiveService(lambda: FakeAnimator(64), lambda: detect)
    session = None
    for brightness in (100, 120, 140):
        out, stats, session = live.step(webcam(brightness), str(path), session)
    assert out.shape == image.shape and stats.startswith("**") and "ms per frame" in stats
    session["reset"] = True  # the button: the next frame is the reference again
    out, _, session = live.step(webcam(140), str(path), session)
    assert np.abs(out.astype(int) - image.astype(int)).max() <= 3


def test_without_weights_the_live_tab_says_why():
    from ppgan_app.apps.web.live_tab import LiveService
    from ppgan_app.errors import WeightsUnavailableError

    def missing():
        raise WeightsUnavailableError("weights vox-mobile are not in the cache; fetch them\n"
                                      "from the URL")

    live = LiveService(missing, lambda: None)
    assert live.unavailable == "weights vox-mobile are not in the cache; fetch them from the URL"
