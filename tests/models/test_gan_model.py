"""GANModel/DCGANModel/ConditionalGANModel: one iteration trains, Algorithm 1's schedule, labels."""
from typing import Dict

import numpy as np
import paddle
import pytest

from ppgan_app.registries import METRICS, MODELS
from ppgan_app.utils.registry import build_from_config

OPTIMIZERS = {"optimizer_G": {"name": "Adam", "net_names": ["netG"], "beta1": 0.5, "learning_rate": 1e-3},
              "optimizer_D": {"name": "Adam", "net_names": ["netD"], "beta1": 0.5, "learning_rate": 1e-3}}
MLP_G = {"name": "MLPGenerator", "nz": 8, "hidden_dims": [16], "img_size": 28}
MLP_D = {"name": "MLPDiscriminator", "hidden_dims": [16], "img_size": 28}


def make_model(name: str = "GANModel", n_class: int = 0, mode: str = "vanilla", **kwargs):
    g, d = dict(MLP_G), dict(MLP_D)
    if kwargs.pop("dcgan", False):
        g = {"name": "DCGANGenerator", "nz": 8, "ngf": 4, "img_size": 28}
        d = {"name": "DCGANDiscriminator", "ndf": 4, "img_size": 28,
             "norm_type": "none" if mode.startswith("wgan") else "batch"}
    if n_class:
        g["n_class"] = d["n_class"] = n_class
    model = build_from_config({"name": name, "generator": g, "discriminator": d,
                               "gan_criterion": {"name": "GANLoss", "gan_mode": mode}, "num_samples": 6,
                               **kwargs}, MODELS)
    model.setup_optimizers(None, OPTIMIZERS)
    return model


def batch(n: int = 6, n_class: int = 10) -> Dict[str, paddle.Tensor]:
    return {"img": paddle.rand([n, 1, 28, 28]) * 2 - 1,
            "class_id": paddle.to_tensor(np.arange(n) % n_class, dtype="int64")}


def snapshot(net) -> Dict[str, np.ndarray]:
    return {k: v.numpy().copy() for k, v in net.state_dict().items()}


def changed(before: Dict[str, np.ndarray], net) -> bool:
    after = snapshot(net)
    return any(not np.array_equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize("mode", ["vanilla", "lsgan", "hinge", "wgan", "wgangp"])
@pytest.mark.parametrize("dcgan", [False, True], ids=["mlp", "dcgan"])
def test_one_iteration_gives_finite_losses_and_trains_both_nets(mode, dcgan):
    model = make_model("DCGANModel" if dcgan else "GANModel", mode=mode, dcgan=dcgan)
    g0, d0 = snapshot(model.nets["netG"]), snapshot(model.nets["netD"])
    model.current_iter = 0
    model.setup_input(batch())
    model.train_iter(model.optimizers)
    assert {"D_loss", "G_loss"} <= set(model.losses)
    assert all(np.isfinite(v) for v in model.losses.values())
    assert changed(g0, model.nets["netG"]) and changed(d0, model.nets["netD"])
    assert (mode == "wgangp") == ("D_gp" in model.losses)
    assert list(model.visual_items["fake"].shape) == [6, 1, 28, 28]


def count_steps(model, monkeypatch) -> Dict[str, int]:
    counts = {"optimizer_G": 0, "optimizer_D": 0}
    for name, opt in model.optimizers.items():
        original = opt.step

        def step(name=name, original=original):
            counts[name] += 1
            return original()
        monkeypatch.setattr(opt, "step", step)
    return counts


def run(model, iters: int) -> None:
    for i in range(iters):
        model.current_iter = i  # the engine sets this before each train_iter
        model.setup_input(batch(4))
        model.train_iter(model.optimizers)


def test_discriminator_updated_disc_iters_times_per_generator_update(monkeypatch):
    model = make_model(disc_iters=3)
    counts = count_steps(model, monkeypatch)
    run(model, 9)
    assert counts == {"optimizer_D": 9, "optimizer_G": 3}
    assert [model.is_generator_step(i) for i in range(6)] == [False, False, True, False, False, True]


def test_disc_start_iters_trains_only_d_first(monkeypatch):
    model = make_model(disc_iters=2, disc_start_iters=3)
    counts = count_steps(model, monkeypatch)
    run(model, 7)
    assert counts == {"optimizer_D": 7, "optimizer_G": 2}  # G at iterations 4 and 6


def test_model_counts_iterations_without_the_engine(monkeypatch):
    model = make_model(disc_iters=2)
    counts = count_steps(model, monkeypatch)
    for _ in range(4):
        model.setup_input(batch(4))
        model.train_iter()
    assert model.current_iter == 4 and counts == {"optimizer_D": 4, "optimizer_G": 2}


def test_saturating_and_non_saturating_models_differ():
    losses = {}
    for form in ("saturating", "non_saturating"):
        paddle.seed(3)
        model = make_model(generator_loss=form)
        paddle.seed(4)
        model.setup_input(batch())
        model.train_iter()
        losses[form] = model.losses
    # same D step; G losses are log(1 - D) < 0 and -log D > 0
    np.testing.assert_allclose(losses["saturating"]["D_loss"], losses["non_saturating"]["D_loss"], rtol=1e-5)
    assert losses["saturating"]["G_loss"] < 0 < losses["non_saturating"]["G_loss"]
    with pytest.raises(ValueError, match="saturating"):
        make_model(mode="lsgan", generator_loss="saturating")


def test_wgan_clips_discriminator_weights():
    model = make_model(mode="wgan")
    assert model.clip_value == 0.01
    run(model, 1)
    assert max(float(p.abs().max()) for p in model.nets["netD"].parameters()) <= 0.01 + 1e-7


def test_conditional_model_uses_labels():
    model = make_model("ConditionalGANModel", n_class=3, dcgan=True)
    model.setup_input(batch(6, 3))
    assert model.class_id.numpy().tolist() == [0, 1, 2, 0, 1, 2]
    model.train_iter()
    assert all(np.isfinite(v) for v in model.losses.values())
    model.eval()
    with paddle.no_grad():
        z = paddle.randn([1, 8]).tile([2, 1])
        out = model.generate(z, paddle.to_tensor([0, 2], dtype="int64")).numpy()
    assert np.abs(out[0] - out[1]).max() > 1e-4
    with pytest.raises(KeyError, match="class_id"):
        model.setup_input({"img": paddle.rand([2, 1, 28, 28])})
    with pytest.raises(ValueError, match="conditional"):
        make_model("ConditionalGANModel")


def test_mismatched_conditioning_is_rejected():
    with pytest.raises(ValueError, match="n_class"):
        build_from_config({"name": "GANModel", "generator": dict(MLP_G, n_class=3), "discriminator": MLP_D},
                          MODELS)


def test_optimizers_must_split_the_nets():
    model = build_from_config({"name": "GANModel", "generator": MLP_G, "discriminator": MLP_D}, MODELS)
    with pytest.raises(ValueError, match="one optimizer per net"):
        model.setup_optimizers(None, {"name": "Adam"})
    with pytest.raises(ValueError, match="no optimizer updates"):
        model.setup_optimizers(None, {"optimizer_G": OPTIMIZERS["optimizer_G"]})


def test_sample_visuals_are_fixed_and_labelled():
    model = make_model(n_class=3, dcgan=True)
    model.eval()
    with paddle.no_grad():
        first = model.sample_visuals()["fake_fixed"].numpy()
        second = model.sample_visuals()["fake_fixed"].numpy()
    assert first.shape == (6, 1, 28, 28)
    np.testing.assert_array_equal(first, second)
    assert model._fixed_y.tolist() == [0, 1, 2, 0, 1, 2]


def test_test_iter_updates_metrics():
    model = make_model()
    metric = build_from_config({"name": "FrechetPixelDistance", "pool_size": 4}, METRICS)
    model.eval()
    for _ in range(2):
        model.setup_input(batch(8))
        model.test_iter({"fpd": metric})
    assert metric.fake.n == metric.real.n == 16
    assert np.isfinite(metric.accumulate())


def test_images_of_another_size_than_the_nets_make_are_a_config_error():
    from ppgan_app.errors import ConfigError

    model = make_model()
    with pytest.raises(ConfigError, match=r"the data's images are 32x32 with 1 channel\(s\) but the nets "
                                          r"make 28x28 with 1: add \{name: Resize, size: 28\}"):
        model.setup_input({"img": paddle.zeros([2, 1, 32, 32])})
