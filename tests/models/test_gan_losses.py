"""GANLoss modes on known logits, saturating vs non-saturating G loss, gradient penalty."""
import numpy as np
import paddle
import pytest

from ppgan_app.models.criterions.gan_loss import GANLoss, gradient_penalty
from ppgan_app.registries import CRITERIONS
from ppgan_app.utils.registry import build_from_config

REAL = np.array([2.0, -1.0], dtype="float32")
FAKE = np.array([0.5, -3.0], dtype="float32")


def _softplus(a):
    return np.log1p(np.exp(a))


EXPECTED = {  # mode: (D loss, G loss), written out from the formulas in gan_loss.py
    "vanilla": (_softplus(-REAL).mean() + _softplus(FAKE).mean(), _softplus(-FAKE).mean()),
    "non_saturating": (_softplus(-REAL).mean() + _softplus(FAKE).mean(), _softplus(-FAKE).mean()),
    "lsgan": (((REAL - 1) ** 2).mean() + (FAKE ** 2).mean(), ((FAKE - 1) ** 2).mean()),
    "wgan": (FAKE.mean() - REAL.mean(), -FAKE.mean()),
    "wgangp": (FAKE.mean() - REAL.mean(), -FAKE.mean()),
    "hinge": (np.maximum(0, 1 - REAL).mean() + np.maximum(0, 1 + FAKE).mean(), -FAKE.mean()),
}


@pytest.mark.parametrize("mode", sorted(EXPECTED))
def test_loss_values_on_known_logits(mode):
    loss = build_from_config({"name": "GANLoss", "gan_mode": mode}, CRITERIONS)
    d_loss = float(loss.discriminator_loss(paddle.to_tensor(REAL), paddle.to_tensor(FAKE)))
    g_loss = float(loss.generator_loss(paddle.to_tensor(FAKE)))
    np.testing.assert_allclose([d_loss, g_loss], EXPECTED[mode], rtol=1e-5)
    # PaddleGAN's call form: D halves add up, G form is the non-saturating one
    halves = float(loss(paddle.to_tensor(REAL), True)) + float(loss(paddle.to_tensor(FAKE), False))
    np.testing.assert_allclose(halves, EXPECTED[mode][0], rtol=1e-5)
    np.testing.assert_allclose(float(loss(paddle.to_tensor(FAKE), True, is_disc=False)), EXPECTED[mode][1],
                               rtol=1e-5)


def test_loss_weight_and_aliases():
    loss = GANLoss("wgan-gp", loss_weight=2.0)
    assert loss.gan_mode == "wgangp"
    np.testing.assert_allclose(float(loss.generator_loss(paddle.to_tensor(FAKE))), -2 * FAKE.mean(), rtol=1e-6)
    with pytest.raises(ValueError, match="gan_mode"):
        GANLoss("minimax")


def test_saturating_generator_loss_is_the_papers_equation():
    loss = GANLoss("vanilla")
    d_fake = 1 / (1 + np.exp(-FAKE))  # D(G(z)) as a probability
    np.testing.assert_allclose(float(loss.generator_loss(paddle.to_tensor(FAKE), saturating=True)),
                               np.log(1 - d_fake).mean(), rtol=1e-5)
    np.testing.assert_allclose(float(loss.generator_loss(paddle.to_tensor(FAKE))),
                               -np.log(d_fake).mean(), rtol=1e-5)
    with pytest.raises(ValueError, match="saturating"):
        GANLoss("hinge").generator_loss(paddle.to_tensor(FAKE), saturating=True)


def test_saturating_gradient_vanishes_when_d_rejects_fakes():
    """Early in training D(G(z)) ~ 0: log(1 - D) has a vanishing gradient, -log D a strong one."""
    loss = GANLoss("vanilla")
    grads = {}
    for saturating in (True, False):
        logit = paddle.to_tensor([-8.0], stop_gradient=False)
        loss.generator_loss(logit, saturating=saturating).backward()
        grads[saturating] = float(logit.grad.numpy()[0])
    # d/da log(1 - sigmoid(a)) = -sigmoid(a);  d/da -log sigmoid(a) = -(1 - sigmoid(a))
    np.testing.assert_allclose(grads[True], -1 / (1 + np.exp(8.0)), rtol=1e-4)
    np.testing.assert_allclose(grads[False], -(1 - 1 / (1 + np.exp(8.0))), rtol=1e-4)
    assert abs(grads[True]) < 1e-3 < 0.99 < abs(grads[False])


class _LinearCritic(paddle.nn.Layer):
    def __init__(self, weight):
        super().__init__()
        self.fc = paddle.nn.Linear(weight.size, 1)
        self.fc.weight.set_value(weight.reshape(-1, 1).astype("float32"))

    def forward(self, x):
        return self.fc(x.reshape([x.shape[0], -1])).reshape([x.shape[0]])


def test_gradient_penalty_of_a_linear_critic():
    """D(x) = w.x has gradient w everywhere, so the penalty is (||w|| - 1)^2."""
    weight = np.zeros(12)
    weight[:4] = 1.0  # ||w|| = 2
    critic = _LinearCritic(weight)
    penalty = gradient_penalty(critic, paddle.rand([5, 3, 2, 2]), paddle.rand([5, 3, 2, 2]))
    np.testing.assert_allclose(float(penalty), 1.0, rtol=1e-4)
    penalty.backward()
    assert critic.fc.weight.grad is not None and float(critic.fc.weight.grad.abs().sum()) > 0
