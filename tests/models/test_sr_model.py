"""SRModel: the L1 stage through the engine (checkpoint with config, EMA, resume), the ESRGAN
stage's updates, losses and optimizer checks; PSNR/SSIM on the Y channel."""
from __future__ import annotations

import numpy as np
import paddle
import pytest

from ppgan_app.engine.checkpoint import load_checkpoint
from ppgan_app.errors import ConfigError
from ppgan_app.metrics.psnr_ssim import PSNR, SSIM, rgb_to_y
from ppgan_app.models.sr_model import PerceptualLoss, SRModel, relativistic_loss

TINY_G = {"name": "PAN", "in_nc": 3, "out_nc": 3, "nf": 8, "unf": 8, "nb": 1, "scale": 4}
TINY_D = {"name": "VGGDiscriminator128", "in_channels": 3, "num_feat": 4, "input_size": 32}
TWO_OPTIMIZERS = {"optimG": {"name": "Adam", "net_names": ["generator"], "learning_rate": 1e-3},
                  "optimD": {"name": "Adam", "net_names": ["discriminator"], "learning_rate": 1e-3}}


def _batch(n: int = 2, side: int = 32) -> dict:
    rng = np.random.RandomState(0)
    gt = rng.rand(n, 3, side, side).astype("float32")
    lq = gt.reshape(n, 3, side // 4, 4, side // 4, 4).mean(axis=(3, 5))
    return {"lq": paddle.to_tensor(lq), "gt": paddle.to_tensor(gt)}


def _copy(net: paddle.nn.Layer) -> dict:
    return {k: v.numpy().copy() for k, v in net.state_dict().items()}


def _changed(before: dict, net: paddle.nn.Layer) -> bool:
    return any(not np.array_equal(before[k], v.numpy()) for k, v in net.state_dict().items())


def test_trained_run_checkpoint_rebuilds_its_generator(tiny_sr_run):
    state = load_checkpoint(next(tiny_sr_run.glob("iter_0000004_checkpoint.pdparams")))
    assert state["iter"] == 4
    assert set(state["nets"]) == {"generator", "generator_ema"}
    assert state["config"]["model"]["generator"]["name"] == "PAN"
    log = (tiny_sr_run / "train.log").read_text()
    assert "psnr_y" in log and "ssim_y" in log  # validation ran with the Y-channel metrics


def test_resume_continues_from_the_checkpoint(tiny_sr_run, sr_pictures, tmp_path):
    from ppgan_app.cli.train import main

    ckpt = next(tiny_sr_run.glob("iter_0000002_checkpoint.pdparams"))
    code = main(["-c", str(tiny_sr_run / "config.yaml"), "--resume", str(ckpt), "-o", "total_iters=3",
                 f"output_dir={tmp_path}", "validate.interval=100"])
    assert code == 0
    assert load_checkpoint(next(tmp_path.glob("*/iter_0000003_checkpoint.pdparams")))["iter"] == 3


def test_l1_stage_updates_generator_and_ema_follows():
    model = SRModel(TINY_G, ema_decay=0.5, ema_start=1)
    model.setup_optimizers(None, {"name": "Adam", "learning_rate": 1e-2})
    assert list(model.optimizers) == ["optimG"]
    model.setup_input(_batch())
    before = _copy(model.nets["generator"])
    model.train_iter()                      # ema_start: the EMA copy equals G
    assert _changed(before, model.nets["generator"])
    g, ema = model.nets["generator"].state_dict(), model.nets["generator_ema"].state_dict()
    assert all(np.array_equal(g[k].numpy(), ema[k].numpy()) for k in g)
    model.train_iter()                      # now an average: between old EMA and new G
    assert any(not np.array_equal(g[k].numpy(), ema[k].numpy()) for k in g)
    assert set(model.losses) == {"l_pix"}
    assert model.inference_net is model.nets["generator_ema"]


def test_esrgan_stage_updates_both_nets_with_all_losses():
    model = SRModel(TINY_G, discriminator=TINY_D, pixel_weight=0.01, perceptual_weight=1.0)
    model.setup_optimizers(None, TWO_OPTIMIZERS)
    model.setup_input(_batch())
    g0, d0 = _copy(model.nets["generator"]), _copy(model.nets["discriminator"])
    model.train_iter()
    assert _changed(g0, model.nets["generator"]) and _changed(d0, model.nets["discriminator"])
    assert {"l_pix", "l_percep", "l_g_gan", "l_d", "d_real", "d_fake"} <= set(model.losses)
    assert all(np.isfinite(v) for v in model.losses.values())
    assert all(not p.stop_gradient for p in model.nets["discriminator"].parameters())


def test_test_iter_updates_metrics_and_visuals_in_kit_range():
    model = SRModel(TINY_G)
    model.setup_input(_batch())
    psnr = PSNR(value_range="[0,1]", crop_border=4, test_y_channel=True)
    model.test_iter({"psnr": psnr})
    assert len(psnr.values) == 2 and np.isfinite(psnr.accumulate())
    assert set(model.visual_items) == {"bicubic", "sr", "gt"}
    assert all(float(v.min()) >= -1 and float(v.max()) <= 1 for v in model.visual_items.values())


def test_relativistic_loss_prefers_the_real_side():
    real, fake = paddle.to_tensor([[3.0], [2.0]]), paddle.to_tensor([[-3.0], [-2.0]])
    assert float(relativistic_loss(real, fake, True)) < 0.01   # D right: small D loss
    assert float(relativistic_loss(fake, real, False)) < 0.01  # same ordering, arguments swapped
    assert float(relativistic_loss(fake, real, True)) > 4.0


def test_pixel_pyramid_perceptual_is_zero_for_equal_images():
    loss = PerceptualLoss("pixels")
    x = paddle.rand([1, 3, 32, 32])
    assert float(loss(x, x)) == 0.0 and float(loss(x, 1 - x)) > 0.1


@pytest.mark.parametrize("kwargs, optimizer, match", [
    ({"discriminator": TINY_D}, {"name": "Adam"}, "one optimizer per net"),
    ({"scale": 2}, {"name": "Adam"}, "upscales x4"),
    ({"ema_decay": 1.5}, {"name": "Adam"}, "ema_decay"),
    ({"discriminator": TINY_D}, {"optimG": {"name": "Adam", "net_names": ["generator"]}}, "no optimizer updates"),
    ({"perceptual_weight": 1.0, "perceptual_features": "lpips"}, {"name": "Adam"}, "perceptual_features"),
])
def test_bad_model_settings_are_config_errors(kwargs, optimizer, match):
    with pytest.raises(ConfigError, match=match):
        SRModel(TINY_G, **kwargs).setup_optimizers(None, optimizer)


def test_y_channel_metrics():
    white = np.ones((1, 3, 16, 16))
    assert np.allclose(rgb_to_y(white), 235 / 255) and np.allclose(rgb_to_y(0 * white), 16 / 255)
    rng = np.random.RandomState(0)
    a = rng.rand(2, 3, 24, 24)
    b = a.copy()
    # a change of chroma only (Y kept): +d on red balanced by green -> identical Y, perfect PSNR-Y
    d = 0.01
    b[:, 0] += d
    b[:, 1] -= d * 65.481 / 128.553
    psnr_y = PSNR(value_range="[0,1]", test_y_channel=True)
    psnr_y.update(np.clip(b, 0, 1), a)
    psnr_rgb = PSNR(value_range="[0,1]")
    psnr_rgb.update(np.clip(b, 0, 1), a)
    assert psnr_y.accumulate() > psnr_rgb.accumulate() + 10
    ssim = SSIM(value_range="[0,1]", crop_border=4, test_y_channel=True, window_size=7)
    ssim.update(a, a)
    assert ssim.accumulate() == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["pan_x4_photos", "esrgan_psnr_x4_photos", "esrgan_x4_photos", "sr_tiny_x4"])
def test_shipped_sr_configs_build(name):
    from pathlib import Path

    from ppgan_app.registries import MODELS
    from ppgan_app.utils.config import load_config
    from ppgan_app.utils.registry import build_from_config

    cfg = load_config(Path(__file__).resolve().parents[2] / "configs" / f"{name}.yaml")
    model = build_from_config(cfg["model"], MODELS)
    model.setup_optimizers(cfg["lr_scheduler"], cfg["optimizer"])
    assert model.scale == cfg["dataset"]["train"]["scale"] == cfg["dataset"]["test"]["scale"]
    assert set(model.optimizers) == ({"optimG", "optimD"} if "discriminator" in model.nets else {"optimG"})
