"""The predictor's face options through the API: smoothing is off by default and changes the
motion when on, the enhancement hook sees every animated crop, the options are one dataclass."""
import dataclasses

import numpy as np
import pytest

from ppgan_app.apps import FirstOrderPredictor
from ppgan_app.apps.expression_transfer.options import TransferOptions
from ppgan_app.media.video import VideoReader
from ppgan_app.errors import InputError


def _frames(path):
    return np.stack(list(VideoReader(path))).astype(np.int16)


def _run(tmp_path, name, animator, media, **kwargs):
    pred = FirstOrderPredictor(output=str(tmp_path / name), animator=animator, progress=False,
                               relative=True, **kwargs)
    return _frames(pred.run(media["portrait"], media["clip"]))


def test_smoothing_is_off_by_default_and_changes_the_motion_when_on(tmp_path, media,
                                                                     fake_animator):
    default = _run(tmp_path, "default", fake_animator, media)
    off = _run(tmp_path, "off", fake_animator, media, smooth=False)
    on = _run(tmp_path, "on", fake_animator, media, smooth=True)
    assert np.array_equal(default, off)
    assert np.abs(on - off).max() > 3  # the fake keypoints ramp: smoothing lags behind


def test_enhancer_sees_every_animated_crop(tmp_path, media, fake_animator):
    class Invert:
        frames = 0

        def enhance(self, crops):
            assert crops.dtype == np.uint8 and crops.shape[1:] == (64, 64, 3)
            self.frames += len(crops)
            return 255 - crops

    enhancer = Invert()
    plain = _run(tmp_path, "plain", fake_animator, media)
    enhanced = _run(tmp_path, "enhanced", fake_animator, media, face_enhancement=True,
                    enhancer=enhancer)
    assert enhancer.frames == len(plain) == 12
    assert np.abs(enhanced - plain).mean() > 1


def test_options_are_one_dataclass_read_by_the_predictor():
    pred = FirstOrderPredictor(ratio=0.45, crop_driving="off")
    assert isinstance(pred.options, TransferOptions) and dataclasses.is_dataclass(pred.options)
    assert (pred.ratio, pred.crop_driving, pred.face_detector) == (0.45, "off", "yunet")
    assert FirstOrderPredictor(crop_driving=True).crop_driving == "on"  # the old boolean flag
    with pytest.raises(InputError, match="unknown option"):
        FirstOrderPredictor(colour="red")
    with pytest.raises(dataclasses.FrozenInstanceError):
        pred.options.ratio = 0.5
    for f in dataclasses.fields(TransferOptions):
        assert f.metadata["help"], f.name  # every option documents itself once
