"""FOMM discriminator against PaddleGAN's (layout of vox-256; tiny outputs)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import paddle

from ppgan_app.models.firstorder import load_fomm_config
from ppgan_app.registries import DISCRIMINATORS
from ppgan_app.utils.registry import build_from_config

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "fomm"


def _build(cfg):
    return build_from_config(cfg["discriminator"], DISCRIMINATORS,
                             default_args={"common_params": cfg["common_params"],
                                           "train_params": cfg["train_params"]})


def test_vox256_discriminator_layout_matches_paddlegan():
    model = load_fomm_config()["model"]
    disc = _build(model)
    expected = json.loads((FIXTURES / "keys_vox256.json").read_text())["discriminator"]
    ours = {k: list(v.shape) for k, v in disc.discriminator.state_dict().items()}
    assert ours == expected


def test_tiny_prediction_maps_match_paddlegan():
    cfg = json.loads((FIXTURES / "tiny_disc_config.json").read_text())
    disc = build_from_config({"name": "FirstOrderDiscriminator", **cfg}, DISCRIMINATORS)
    disc.discriminator.set_state_dict(paddle.load(str(FIXTURES / "tiny_disc_weights.pdparams")))
    disc.eval()
    io = np.load(FIXTURES / "tiny_io.npz")
    expected = np.load(FIXTURES / "tiny_disc_io.npz")
    driving = paddle.to_tensor(io["driving_u8"].astype("float32") / 255.0)
    with paddle.no_grad():
        maps = disc.discriminator(disc.pyramid(driving))
    for key in expected:  # maps reach |100|: float32 rounding differs between CPUs by ~1e-6 relative
        scale = max(1.0, float(np.abs(expected[key]).max()))
        assert float(np.abs(maps[key].numpy() - expected[key]).max()) <= 1e-5 * scale, key


def test_discriminator_loss_is_a_scalar():
    cfg = json.loads((FIXTURES / "tiny_disc_config.json").read_text())
    disc = build_from_config({"name": "FirstOrderDiscriminator", **cfg}, DISCRIMINATORS)
    x = {"driving": paddle.rand([2, 3, 64, 64])}
    generated = {"prediction": paddle.rand([2, 3, 64, 64]),
                 "kp_driving": {"value": paddle.rand([2, 4, 2]) * 2 - 1}}
    loss = disc(x, generated)["disc_gan"]
    assert loss.shape == [] and float(loss) > 0
