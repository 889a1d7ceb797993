"""Super-resolution app: seamless tiling, the predictor on pictures and videos (audio kept),
loading PaddleGAN-format weights strictly, offline weight errors, evaluation."""
from __future__ import annotations

import json
import urllib.error
from pathlib import Path

import cv2
import numpy as np
import paddle
import pytest

from ppgan_app.apps import RealSRPredictor, SuperResolutionPredictor
from ppgan_app.apps.super_resolution import Upscaler, evaluate_folder, load_sr_network
from ppgan_app.apps.super_resolution.evaluation import baselines, sharpness
from ppgan_app.errors import CheckpointError, InputError, WeightsUnavailableError
from ppgan_app.models.generators.pan import PAN
from ppgan_app.models.generators.rrdbnet import RRDBNet
from ppgan_app.utils import download

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sr"


def _checkpoint(run: Path) -> str:
    return str(next(run.glob("iter_0000004_checkpoint.pdparams")))


def _seeded(net: paddle.nn.Layer) -> paddle.nn.Layer:
    paddle.seed(0)
    net.eval()
    return net


def test_tiled_equals_whole_frame_when_overlap_covers_the_receptive_field():
    net = _seeded(PAN(3, 3, 8, 8, 2, scale=4))   # receptive field ~8 low-res pixels
    x = np.random.RandomState(0).rand(1, 3, 45, 70).astype("float32")
    whole = Upscaler(net, 4, tile=0).upscale_array(x)
    tiled = Upscaler(net, 4, tile=16, tile_overlap=12).upscale_array(x)
    assert whole.shape == tiled.shape == (1, 3, 180, 280)
    assert np.abs(whole - tiled).max() <= 1e-5 * np.abs(whole).max()  # float rounding only
    seams = Upscaler(net, 4, tile=16, tile_overlap=2).upscale_array(x)  # too little context
    assert np.abs(whole - seams).max() > 1e-4


def test_tiling_handles_pixel_unshuffle_and_odd_sizes():
    net = _seeded(RRDBNet(3, 3, 4, 1, gc=4, scale=2))
    img = (np.random.RandomState(1).rand(21, 33, 3) * 255).astype(np.uint8)
    whole = Upscaler(net, 2, tile=0).upscale(img)
    tiled = Upscaler(net, 2, tile=10, tile_overlap=15).upscale(img)
    assert whole.shape == (42, 66, 3) and np.abs(whole.astype(int) - tiled).max() <= 1


def test_predictor_upscales_a_picture_from_a_kit_checkpoint(tiny_sr_run, sr_pictures, tmp_path):
    predictor = SuperResolutionPredictor(output=str(tmp_path), weight_path=_checkpoint(tiny_sr_run),
                                         tile=16, tile_overlap=8)
    path = predictor.run(sr_pictures / "coffee.png")
    assert path == str(tmp_path / "coffee_sr.png")
    assert cv2.imread(path).shape == (96 * 4, 100 * 4, 3)
    assert [p.name for p in tmp_path.iterdir()] == ["coffee_sr.png"]   # no temp files left


def test_predictor_streams_a_video_and_keeps_its_audio(tiny_sr_run, tmp_path, ffprobe):
    from app_helpers import write_clip

    clip = write_clip(str(tmp_path / "clip.mp4"), n_frames=5, size=(24, 16), audio=True)
    predictor = SuperResolutionPredictor(weight_path=_checkpoint(tiny_sr_run))
    out = predictor.run(clip, tmp_path / "clip_x4.mp4")
    info = ffprobe(out)
    assert info["audio"]
    from ppgan_app.media.video import VideoReader
    frames = list(VideoReader(out))
    assert len(frames) == 5 and frames[0].shape == (64, 96, 3)


def test_paddlegan_model_file_and_bare_state_dict_load(tmp_path):
    """PaddleGAN's saved models hold {"generator": state}; RealSR's file is a bare state dict."""
    keys = json.loads((FIXTURES / "keys_pan_x4.json").read_text())
    rng = np.random.RandomState(0)
    state = {k: (rng.standard_normal(s) * 0.01).astype("float32") for k, s in keys.items()}
    paddle.save({"generator": state}, str(tmp_path / "pan_x4.pdparams"))
    paddle.save(state, str(tmp_path / "bare.pdparams"))
    for name in ("pan_x4.pdparams", "bare.pdparams"):
        network = load_sr_network(tmp_path / name, arch="pan-x4")
        assert network.scale == 4
        assert np.array_equal(network.net.state_dict()["conv_first.weight"].numpy(), state["conv_first.weight"])
    with pytest.raises(InputError, match="--model"):
        load_sr_network(tmp_path / "bare.pdparams")
    with pytest.raises(CheckpointError, match="does not fit"):   # PAN's weights into RealSR's RRDBNet
        load_sr_network(tmp_path / "bare.pdparams", arch="realsr")


def test_offline_preset_names_url_and_cache_path(monkeypatch, tmp_path):
    monkeypatch.setenv(download.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(download, "_sleep", lambda s: None)

    def offline(url, timeout):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(download, "_open_url", offline)
    with pytest.raises(WeightsUnavailableError) as err:
        RealSRPredictor()
    message = str(err.value)
    assert "https://paddlegan.bj.bcebos.com/applications/DF2K_JPEG.pdparams" in message
    assert str(tmp_path / "DF2K_JPEG.pdparams") in message and "\n" not in message


def test_predictor_refuses_mismatched_output_before_work(tiny_sr_run, sr_pictures, tmp_path):
    predictor = SuperResolutionPredictor(weight_path=_checkpoint(tiny_sr_run))
    with pytest.raises(InputError, match="picture"):
        predictor.run(sr_pictures / "coffee.png", tmp_path / "coffee.mp4")
    with pytest.raises(InputError, match="not found"):
        predictor.run(tmp_path / "missing.png")
    assert not any(tmp_path.iterdir())


def test_evaluation_ranks_bicubic_above_nearest(sr_pictures):
    scores = evaluate_folder(sr_pictures, 4, baselines(4))
    near, bic = scores["nearest"].means(), scores["bicubic"].means()
    assert bic["psnr_y"] > near["psnr_y"] and bic["ssim_y"] > near["ssim_y"]
    assert len(scores["bicubic"].psnr_y) == 4
    img = (np.random.RandomState(0).rand(32, 32, 3) * 255).astype(np.uint8)
    assert sharpness(img, 4) > sharpness(cv2.GaussianBlur(img, (0, 0), 2), 4)


def test_expression_transfer_upscales_the_animated_faces(tiny_sr_run, tmp_path, media, fake_animator):
    """--super_resolution x2|x4: the crops reach paste-back larger; the result differs from plain."""
    from ppgan_app.apps import FirstOrderPredictor
    from ppgan_app.media.video import VideoReader

    def run(name, **kwargs):
        pred = FirstOrderPredictor(output=str(tmp_path / name), animator=fake_animator, progress=False,
                                   relative=True, **kwargs)
        return np.stack(list(VideoReader(pred.run(media["portrait"], media["clip"])))).astype(np.int16), pred

    plain, _ = run("plain")
    sharp, pred = run("x4", super_resolution="x4", super_resolution_weights=_checkpoint(tiny_sr_run))
    assert sharp.shape == plain.shape and np.abs(sharp - plain).mean() > 0.1
    small = np.zeros((2, 64, 64, 3), np.uint8)
    assert pred.face_upscaler.upscale(small).shape == (2, 256, 256, 3)
    from ppgan_app.apps.super_resolution.faces import FaceUpscaler

    assert FaceUpscaler("x2", _checkpoint(tiny_sr_run)).upscale(small).shape == (2, 128, 128, 3)
    with pytest.raises(InputError, match="--super_resolution"):
        FirstOrderPredictor(super_resolution="x3")
