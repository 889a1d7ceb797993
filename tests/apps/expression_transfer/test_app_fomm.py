"""The pipeline with real (tiny, random-weight) FOMM networks behind both engines."""
import numpy as np
import pytest

from ppgan_app.apps import FirstOrderPredictor
from ppgan_app.errors import InputError
from ppgan_app.apps.expression_transfer.predictor import render_chunk, to_chw_float
from ppgan_app.apps.expression_transfer.fomm_animator import build_fomm_animator
from ppgan_app.media.video import VideoReader
from ppgan_app.weights.fomm import default_model

from app_helpers import ffprobe


@pytest.fixture(scope="module")
def tiny_animator(tiny_fomm):
    return build_fomm_animator(config=tiny_fomm["config"], weight_path=tiny_fomm["weights"],
                               image_size=64, engine="dygraph")


def test_batch_4_equals_batch_1_with_real_networks(tiny_animator):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (6, 64, 64, 3), dtype=np.uint8)
    source = to_chw_float(rng.integers(0, 255, (1, 64, 64, 3), dtype=np.uint8))
    kp_source = tiny_animator.keypoints(source)
    kp_initial = tiny_animator.keypoints(to_chw_float(frames[:1]))
    outs = {b: render_chunk(tiny_animator, frames, [source], [kp_source], kp_initial, b,
                            relative=True, adapt_scale=True)[0] for b in (1, 4)}
    assert outs[1].shape == (6, 64, 64, 3) and outs[1].dtype == np.uint8
    assert np.abs(outs[1].astype(int) - outs[4].astype(int)).max() <= 1


def test_absolute_and_relative_motion_differ(tiny_animator):
    rng = np.random.default_rng(1)
    frames = to_chw_float(rng.integers(0, 255, (2, 64, 64, 3), dtype=np.uint8))
    source = frames[:1]
    kp_s, kp_d = tiny_animator.keypoints(source), tiny_animator.keypoints(frames)
    kw = dict(kp_source=kp_s, kp_driving=kp_d,
              kp_driving_initial=tiny_animator.keypoints(frames[1:]))
    rel = tiny_animator.animate(source, relative=True, adapt_scale=False, **kw)
    absolute = tiny_animator.animate(source, relative=False, adapt_scale=False, **kw)
    assert rel.shape == absolute.shape == (2, 3, 64, 64)
    assert 0.0 <= rel.min() and rel.max() <= 1.0
    assert not np.allclose(rel, absolute)


def test_fast_engine_end_to_end(tmp_path, media, tiny_fomm):
    pytest.importorskip("ppgan_app.inference.paddle_inference")
    out = FirstOrderPredictor(output=str(tmp_path), config=tiny_fomm["config"],
                              weight_path=tiny_fomm["weights"], image_size=64, relative=True,
                              engine="fast", progress=False).run_with_summary(
        media["portrait"], media["clip_audio"])
    assert (out.frames, out.fps, out.audio) == (12, 10.0, True)
    assert ffprobe(out.path) == {"codec": "h264", "fps": 10.0, "audio": True}
    assert len(list(VideoReader(out.path))) == 12


def test_model_choices_and_weight_errors(tmp_path):
    assert default_model(256, False) == {"config": "firstorder_vox_256", "weights": "vox-cpk"}
    assert default_model(512, False)["weights"] == "vox-cpk-512"
    assert default_model(256, True)["weights"] == "vox-mobile"
    with pytest.raises(InputError, match="256 and 512"):
        default_model(128, False)
    with pytest.raises(InputError, match="neither an existing file"):
        build_fomm_animator(weight_path=str(tmp_path / "missing.pdparams"))


class CollinearDriving:
    """The tiny FOMM with all keypoints on one line (x == y), so ``--adapt_scale`` has no
    hull to measure."""

    def __init__(self, animator):
        self.animator = animator
        self.image_size = animator.image_size

    def keypoints(self, frames):
        kp = dict(self.animator.keypoints(frames))
        kp["value"] = kp["value"][:, :, :1].tile([1, 1, 2])
        return kp

    def animate(self, *args, **kwargs):
        return self.animator.animate(*args, **kwargs)


def test_collinear_keypoints_are_reported_once_with_the_count(tmp_path, media, tiny_animator,
                                                              caplog):
    import logging

    animator = CollinearDriving(tiny_animator)
    caplog.set_level(logging.DEBUG, logger="ppgan_app")
    FirstOrderPredictor(output=str(tmp_path), animator=animator, relative=True, adapt_scale=True,
                        progress=False).run(media["portrait"], media["clip"])
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING
                and "collinear" in r.getMessage()]
    assert warnings == ["driving keypoints of reference frame 0 are collinear (hull area 0): "
                        "--adapt_scale uses a movement scale of 1 for all 12 frames"]
