"""EMA generator (netG_ema) and DiffAugment in GANModel."""
import numpy as np
import paddle
import pytest

from ppgan_app.models.diffaugment import cutout, diff_augment, parse_policy, translation
from tests.models.test_gan_model import batch, make_model, snapshot


def test_ema_weights_differ_from_raw_and_are_what_sampling_uses():
    paddle.seed(0)
    model = make_model("DCGANModel", dcgan=True, ema_decay=0.9, ema_start=1)
    assert "netG_ema" in model.nets and model.sampling_net is model.nets["netG_ema"]
    assert all(p.stop_gradient for p in model.nets["netG_ema"].parameters())
    for _ in range(3):
        model.setup_input(batch())
        model.train_iter()
    raw, ema = snapshot(model.nets["netG"]), snapshot(model.nets["netG_ema"])
    weights = [k for k in raw if not k.endswith(("_mean", "_variance"))]
    assert any(not np.allclose(raw[k], ema[k]) for k in weights)
    assert all(np.array_equal(raw[k], ema[k]) for k in raw if k.endswith(("_mean", "_variance")))
    model.eval()
    z = paddle.randn([4, model.nz])
    with paddle.no_grad():
        np.testing.assert_allclose(model.generate(z).numpy(), model.nets["netG_ema"](z).numpy(), rtol=1e-6)
        assert not np.allclose(model.generate(z).numpy(), model.nets["netG"](z).numpy())


def test_ema_schedule_copies_then_averages():
    model = make_model(ema_decay=0.5, ema_start=1)
    model.setup_input(batch())
    model.train_iter()  # first G step: a copy
    raw, ema = snapshot(model.nets["netG"]), snapshot(model.nets["netG_ema"])
    assert all(np.array_equal(raw[k], ema[k]) for k in raw)
    model.setup_input(batch())
    model.train_iter()  # second: ema = 0.5 ema + 0.5 G
    new = snapshot(model.nets["netG"])
    key = next(k for k in new if k.endswith("weight"))
    np.testing.assert_allclose(snapshot(model.nets["netG_ema"])[key], 0.5 * ema[key] + 0.5 * new[key], rtol=1e-5)


def test_no_ema_by_default_and_bad_values():
    model = make_model()
    assert "netG_ema" not in model.nets and model.sampling_net is model.nets["netG"]
    with pytest.raises(ValueError, match="ema_decay"):
        make_model(ema_decay=1.5)


def test_diffaugment_policies_are_differentiable_and_change_images():
    paddle.seed(3)
    x = paddle.rand([4, 1, 16, 16]) * 2 - 1
    x.stop_gradient = False
    out = diff_augment(x, parse_policy("brightness,contrast,translation,cutout"))
    assert out.shape == x.shape and not np.allclose(out.numpy(), x.numpy())
    out.sum().backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0
    with pytest.raises(ValueError, match="unknown DiffAugment"):
        parse_policy("rotate")


def test_translation_moves_whole_pixels_and_cutout_zeroes_a_square():
    paddle.seed(0)
    x = paddle.arange(64, dtype="float32").reshape([1, 1, 8, 8]) + 1
    moved = translation(x).numpy()[0, 0]
    values = set(moved[moved != 0].astype(int).tolist())
    assert values <= set(range(1, 65)) and len(values) >= 36  # a shift of at most 1 pixel each way
    holes = cutout(paddle.ones([3, 1, 8, 8])).numpy()
    assert all((h == 0).sum() <= 16 and (h == 0).sum() > 0 for h in holes[:, 0])


def test_diffaugment_in_training_step():
    model = make_model("DCGANModel", dcgan=True, diffaugment="translation,cutout")
    model.setup_input(batch())
    model.train_iter()
    assert np.isfinite(model.losses["D_loss"]) and np.isfinite(model.losses["G_loss"])


def test_ema_batch_norm_statistics_are_recomputed_for_the_averaged_weights():
    paddle.seed(1)
    model = make_model("DCGANModel", dcgan=True, ema_decay=0.5, ema_start=0)
    for _ in range(2):
        model.setup_input(batch())
        model.train_iter()
    stats = [k for k in snapshot(model.nets["netG"]) if k.endswith("_mean")]
    assert stats and all(np.array_equal(snapshot(model.nets["netG"])[k], snapshot(model.nets["netG_ema"])[k])
                         for k in stats)
    model.eval()
    paddle.seed(7)
    with paddle.no_grad():
        first = model.generate(paddle.ones([2, model.nz])).numpy()
    after_refresh = paddle.rand([3]).numpy()
    paddle.seed(7)
    np.testing.assert_array_equal(after_refresh, paddle.rand([3]).numpy())  # global RNG untouched
    ema = snapshot(model.nets["netG_ema"])
    assert any(not np.allclose(snapshot(model.nets["netG"])[k], ema[k]) for k in stats)
    assert not model.nets["netG_ema"].training
    model.refresh_ema_statistics()  # fresh: a no-op
    assert all(np.array_equal(ema[k], snapshot(model.nets["netG_ema"])[k]) for k in ema)
    with paddle.no_grad():
        np.testing.assert_array_equal(first, model.generate(paddle.ones([2, model.nz])).numpy())
