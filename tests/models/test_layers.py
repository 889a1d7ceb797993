"""The cheap-bias conv layers equal Paddle's, layer by layer and over DCGAN training steps."""
from __future__ import annotations

from typing import Dict, List, Tuple

import numpy as np
import paddle
import pytest
from paddle import nn

from ppgan_app.models import layers
from ppgan_app.models.discriminators import dcgan as dcgan_d
from ppgan_app.models.generators import dcgan as dcgan_g
from ppgan_app.registries import MODELS
from ppgan_app.utils.registry import build_from_config

CASES = [  # (ours, Paddle's, constructor args, input shape)
    (layers.Conv2D, nn.Conv2D, (3, 8, 4, 2, 1), [4, 3, 16, 16]),
    (layers.Conv2D, nn.Conv2D, (6, 6, 3, 1, 1), [2, 6, 9, 7]),
    (layers.Conv2DTranspose, nn.Conv2DTranspose, (8, 5, 4, 2, 1), [4, 8, 4, 4]),
    (layers.Conv2DTranspose, nn.Conv2DTranspose, (10, 6, 4, 1, 0), [3, 10, 1, 1]),
]


def forward_backward(layer: nn.Layer, x: np.ndarray, grad: np.ndarray) -> List[np.ndarray]:
    """Output, input gradient, weight gradient and bias gradient."""
    xt = paddle.to_tensor(x, stop_gradient=False)
    out = layer(xt)
    out.backward(paddle.to_tensor(grad))
    return [out.numpy(), xt.grad.numpy(), layer.weight.grad.numpy(), layer.bias.grad.numpy()]


@pytest.mark.parametrize("ours, paddles, args, shape", CASES)
def test_layer_equals_paddle(ours, paddles, args, shape):
    paddle.seed(3)
    reference = paddles(*args)
    layer = ours(*args)
    layer.set_state_dict(reference.state_dict())
    assert list(layer.state_dict()) == list(reference.state_dict())
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype("float32")
    out_shape = reference(paddle.to_tensor(x)).shape
    grad = rng.standard_normal(out_shape).astype("float32")
    for got, want in zip(forward_backward(layer, x, grad), forward_backward(reference, x, grad)):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_layer_without_bias_and_channels_last_fall_back():
    paddle.seed(4)
    plain = layers.Conv2D(3, 4, 3, padding=1, bias_attr=False)
    x = paddle.randn([2, 3, 8, 8])
    np.testing.assert_array_equal(plain(x).numpy(),
                                  nn.functional.conv2d(x, plain.weight, padding=1).numpy())
    reference = nn.Conv2D(3, 4, 3, padding=1, data_format="NHWC")
    nhwc = layers.Conv2D(3, 4, 3, padding=1, data_format="NHWC")
    nhwc.set_state_dict(reference.state_dict())
    xh = paddle.randn([2, 8, 8, 3])
    np.testing.assert_array_equal(nhwc(xh).numpy(), reference(xh).numpy())


def test_spectral_norm_wraps_our_conv():
    paddle.seed(5)
    conv = nn.utils.spectral_norm(layers.Conv2D(3, 4, 4, 2, 1))
    out = conv(paddle.randn([2, 3, 8, 8]))
    assert out.shape == [2, 4, 4, 4] and "weight_orig" in conv.state_dict()


DCGAN = {"name": "DCGANModel",
         "generator": {"name": "DCGANGenerator", "nz": 16, "ngf": 8, "output_nc": 1, "img_size": 32},
         "discriminator": {"name": "DCGANDiscriminator", "ndf": 8, "input_nc": 1, "img_size": 32},
         "num_samples": 4}
OPTIMIZERS = {"optimizer_G": {"name": "Adam", "net_names": ["netG"], "beta1": 0.5},
              "optimizer_D": {"name": "Adam", "net_names": ["netD"], "beta1": 0.5}}


def train(steps: int = 4) -> Tuple[List[Dict[str, float]], Dict[str, np.ndarray]]:
    """Losses of each iteration and the final parameters of a tiny seeded DCGAN run."""
    paddle.seed(11)
    model = build_from_config(dict(DCGAN), MODELS)
    model.setup_optimizers({"name": "ConstantLR", "learning_rate": 2e-3}, OPTIMIZERS)
    rng = np.random.default_rng(1)
    losses = []
    for step in range(steps):
        model.current_iter = step
        model.setup_input({"img": rng.uniform(-1, 1, (8, 1, 32, 32)).astype("float32")})
        model.train_iter(model.optimizers)
        losses.append(dict(model.losses))
    params = {f"{name}.{k}": v.numpy() for name, net in model.nets.items()
              for k, v in net.state_dict().items()}
    return losses, params


def test_dcgan_training_unchanged_by_the_cheap_bias(monkeypatch):
    ours_losses, ours_params = train()
    monkeypatch.setattr(dcgan_g, "Conv2DTranspose", nn.Conv2DTranspose)
    monkeypatch.setattr(dcgan_d, "Conv2D", nn.Conv2D)
    ref_losses, ref_params = train()
    assert isinstance(build_from_config(dict(DCGAN), MODELS).nets["netD"].head, nn.Conv2D)
    for got, want in zip(ours_losses, ref_losses):
        assert got.keys() == want.keys()
        for key in got:
            assert got[key] == pytest.approx(want[key], rel=1e-5, abs=1e-6), key
    assert ours_params.keys() == ref_params.keys()
    for key in ours_params:
        np.testing.assert_allclose(ours_params[key], ref_params[key], rtol=1e-5, atol=1e-6, err_msg=key)
