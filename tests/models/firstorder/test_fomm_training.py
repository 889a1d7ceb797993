"""FirstOrderModel: one training iteration on a tiny config (random VGG19, no download)."""
from __future__ import annotations

import copy

import numpy as np
import paddle
import pytest

from ppgan_app.weights.fomm import load_fomm
from ppgan_app.registries import MODELS
from ppgan_app.utils.registry import build_from_config

SIZE = 32
COMMON = {"num_kp": 4, "num_channels": 3, "estimate_jacobian": True}
TINY_MODEL = {
    "name": "FirstOrderModel",
    "common_params": COMMON,
    "generator": {
        "name": "FirstOrderGenerator",
        "vgg_weights": None,
        "kp_detector_cfg": {"temperature": 0.1, "block_expansion": 8, "max_features": 16,
                            "scale_factor": 0.25, "num_blocks": 3},
        "generator_cfg": {"block_expansion": 8, "max_features": 16, "num_down_blocks": 2,
                          "num_bottleneck_blocks": 1, "estimate_occlusion_map": True,
                          "dense_motion_params": {"block_expansion": 8, "max_features": 16,
                                                  "num_blocks": 3, "scale_factor": 0.25}},
    },
    "discriminator": {"name": "FirstOrderDiscriminator",
                      "discriminator_cfg": {"scales": [1], "block_expansion": 8,
                                            "max_features": 16, "num_blocks": 3, "sn": True}},
    "train_params": {"scales": [1, 0.5],
                     "transform_params": {"sigma_affine": 0.05, "sigma_tps": 0.005, "points_tps": 5},
                     "loss_weights": {"generator_gan": 1, "discriminator_gan": 1,
                                      "feature_matching": [10, 10, 10],
                                      "perceptual": [10, 10, 10, 10, 10],
                                      "equivariance_value": 10, "equivariance_jacobian": 10}},
}
LR = {"name": "MultiStepDecay", "epoch_milestones": [100], "lr_generator": 2e-4,
      "lr_discriminator": 2e-4, "lr_kp_detector": 2e-4}


@pytest.fixture(scope="module")
def trained():
    paddle.seed(1)
    model = build_from_config(copy.deepcopy(TINY_MODEL), MODELS)
    model.setup_optimizers(LR, {"name": "Adam"})
    before = {name: {k: v.numpy().copy() for k, v in net.state_dict().items()}
              for name, net in model.nets.items()}
    rng = np.random.default_rng(0)
    batch = {k: paddle.to_tensor(rng.uniform(0, 1, (2, 3, SIZE, SIZE)).astype("float32"))
             for k in ("source", "driving")}
    model.setup_input(batch)
    model.train_iter(model.optimizers)
    return model, before


def test_one_iteration_updates_every_net(trained):
    model, before = trained
    assert set(model.losses) == {"perceptual", "gen_gan", "feature_matching", "equivariance_value",
                                 "equivariance_jacobian", "disc_gan"}
    assert all(np.isfinite(v) for v in model.losses.values())
    for name, net in model.nets.items():
        changed = [k for k, v in net.state_dict().items()
                   if not np.array_equal(v.numpy(), before[name][k])]
        assert changed, f"{name} was not updated"
    assert set(model.optimizers) == set(model.lr_schedulers) == {
        "optimizer_KP", "optimizer_Gen", "optimizer_Dis"}
    assert model.visual_items["prediction"].shape == [2, 3, SIZE, SIZE]


def test_reconstruction_eval(trained):
    model, _ = trained
    model.setup_input({"video": paddle.rand([1, 3, 2, SIZE, SIZE])})
    model.test_iter()
    assert len(model.test_losses) == 2 and all(0 <= v <= 1 for v in model.test_losses)


def test_kit_checkpoint_feeds_the_inference_networks(trained):
    model, _ = trained
    nets_state = {name: net.state_dict() for name, net in model.nets.items()}
    load_fomm({"nets": nets_state}, {"model": TINY_MODEL})   # strict: raises on any mismatch


def test_offline_pixel_perceptual_loss_trains_every_net():
    from ppgan_app.errors import ConfigError
    model_cfg = copy.deepcopy(TINY_MODEL)
    model_cfg["generator"]["perceptual_features"] = "pixels"
    paddle.seed(2)
    model = build_from_config(model_cfg, MODELS)
    assert model.gen_full.vgg is None                                   # no network, no download
    model.setup_optimizers(LR, {"name": "Adam"})
    before = {n: {k: v.numpy().copy() for k, v in net.state_dict().items()} for n, net in model.nets.items()}
    rng = np.random.default_rng(1)
    model.setup_input({k: paddle.to_tensor(rng.uniform(0, 1, (2, 3, SIZE, SIZE)).astype("float32"))
                       for k in ("source", "driving")})
    model.train_iter(model.optimizers)
    assert set(model.losses) == {"perceptual", "gen_gan", "feature_matching", "equivariance_value",
                                 "equivariance_jacobian", "disc_gan"}
    assert all(np.isfinite(v) for v in model.losses.values())
    for name, net in model.nets.items():
        params = {k for k, _ in net.named_parameters()}
        changed = [k for k, v in net.state_dict().items()
                   if k in params and not np.array_equal(v.numpy(), before[name][k])]
        assert changed, f"{name}: no parameter changed"
    model_cfg["generator"]["perceptual_features"] = "vgg"
    with pytest.raises(ConfigError, match="perceptual_features"):
        build_from_config(model_cfg, MODELS)


def test_validation_losses_restart_at_each_evaluation(trained):
    model, _ = trained
    for _ in range(2):       # what Trainer.evaluate does: eval(), test_iter per clip, train()
        model.eval()
        model.setup_input({"video": paddle.rand([1, 3, 3, SIZE, SIZE])})
        model.test_iter()
        model.train()
        assert len(model.test_losses) == 3
