"""The Live tab's service on live mode's animator: the engine it reports, the reference pose
and its reset, fps and time per frame, a new portrait, and missing weights."""
import numpy as np
import pytest

from ppgan_app.apps.expression_transfer.predictor import read_source_image, sample_paths
from ppgan_app.apps.web.live_tab import LiveService


@pytest.fixture(scope="module")
def tiny_animator(tiny_fomm):
    from ppgan_app.apps.expression_transfer.fomm_animator import build_fomm_animator

    return build_fomm_animator(config=tiny_fomm["config"], weight_path=tiny_fomm["weights"],
                               image_size=64, engine="dygraph")


def webcam(shift: int) -> np.ndarray:
    """The bundled portrait at 160 px, moved ``shift`` pixels to the right (a face in front of
    the camera)."""
    import cv2

    image = cv2.resize(read_source_image(sample_paths()[0]), (160, 160),
                       interpolation=cv2.INTER_AREA)
    return np.roll(image, shift, axis=1)


def service(animator, **kwargs):
    from ppgan_app.faces.detectors import build_face_detector

    return LiveService(lambda: animator, lambda: build_face_detector("yunet"),
                       model="tiny", **kwargs)


def test_frames_are_animated_relative_to_a_reference_that_reset_takes_again(tiny_animator):
    live = service(tiny_animator)
    assert live.label == "engine dygraph (fp32), tiny, 64 px"
    portrait = sample_paths()[0]
    first, stats, session = live.step(webcam(0), portrait, None)
    animator = session["animator"]
    # the reference frame itself: no motion, the portrait's crop comes back (up to the net)
    still = animator.render(animator.motion(webcam(0)))
    assert first.shape == (64, 64, 3) and first.dtype == np.uint8
    assert np.array_equal(first, still)
    moved, _, session = live.step(webcam(12), portrait, session)
    assert np.abs(moved.astype(int) - first.astype(int)).max() > 0
    # reset: the shifted frame becomes the reference, so it gives the unmoved face again
    session["reset"] = True
    again, stats, session = live.step(webcam(12), portrait, session)
    assert animator.resets == 1 and np.abs(again.astype(int) - first.astype(int)).max() <= 2
    assert stats.startswith("**") and " fps** · " in stats
    assert stats.endswith("ms per frame on the server · 3 frames · engine dygraph (fp32), "
                          "tiny, 64 px")


def test_a_new_portrait_gets_a_new_animator(tiny_animator, tmp_path):
    from PIL import Image

    live = service(tiny_animator)
    _, _, session = live.step(webcam(0), sample_paths()[0], None)
    first = session["animator"]
    other = tmp_path / "other.png"
    Image.fromarray(np.ascontiguousarray(read_source_image(sample_paths()[0])[:, ::-1])).save(other)
    out, _, session = live.step(webcam(0), str(other), session)
    assert session["animator"] is not first and out.shape == (64, 64, 3)


def test_without_a_portrait_or_a_frame_the_tab_says_what_to_do(tiny_animator):
    live = service(tiny_animator)
    assert live.step(None, sample_paths()[0], None)[:2] == (
        None, "choose a portrait, then start the webcam")
    out, line, _ = live.step(webcam(0), "/nonexistent/me.jpg", None)
    assert out is None and line.startswith("error: ") and "me.jpg" in line


def test_without_weights_the_live_tab_says_why():
    from ppgan_app.errors import WeightsUnavailableError

    def missing():
        raise WeightsUnavailableError("weights vox-mobile are not in the cache; fetch them\n"
                                      "from the URL")

    live = LiveService(missing, lambda: None)
    assert live.unavailable == "weights vox-mobile are not in the cache; fetch them from the URL"


def test_shared_networks_are_called_under_one_lock(tiny_animator):
    from ppgan_app.apps.web.app import LockedEngine, SharedAnimator

    shared = SharedAnimator(tiny_animator)
    assert isinstance(shared.engine, LockedEngine) and shared.engine_name == "dygraph"
    live = service(shared)
    out, _, _ = live.step(webcam(0), sample_paths()[0], None)
    assert out.shape == (64, 64, 3) and not shared._lock.locked()
