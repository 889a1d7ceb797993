"""GAN networks: registry builds, output shapes and ranges, conditioning, initialisation."""
import numpy as np
import paddle
import pytest

from ppgan_app.models.generators.dcgan import resolution_plan
from ppgan_app.models.init import init_weights
from ppgan_app.registries import DISCRIMINATORS, GENERATORS
from ppgan_app.utils.registry import build_from_config

G_CASES = [
    {"name": "MLPGenerator", "nz": 8, "hidden_dims": [16, 32], "img_size": 28},
    {"name": "ConditionalMLPGenerator", "nz": 8, "hidden_dims": [16], "img_size": 28, "n_class": 3},
    {"name": "DCGANGenerator", "nz": 8, "ngf": 4, "img_size": 28},
    {"name": "DCGANGenerator", "nz": 8, "ngf": 4, "img_size": 32, "output_nc": 3},
    {"name": "DCGANGenerator", "nz": 8, "ngf": 4, "img_size": 64},
    {"name": "ConditionalDCGANGenerator", "nz": 8, "ngf": 4, "img_size": 32, "n_class": 3},
]
D_CASES = [
    {"name": "MLPDiscriminator", "hidden_dims": [16], "img_size": 28, "dropout": 0.2},
    {"name": "ConditionalMLPDiscriminator", "hidden_dims": [16], "img_size": 28, "n_class": 3},
    {"name": "DCGANDiscriminator", "ndf": 4, "img_size": 28},
    {"name": "DCGANDiscriminator", "ndf": 4, "img_size": 32, "input_nc": 3, "norm_type": "instance"},
    {"name": "DCGANDiscriminator", "ndf": 4, "img_size": 64, "norm_type": "none", "spectral_norm": True},
    {"name": "ConditionalDCGANDiscriminator", "ndf": 4, "img_size": 32, "n_class": 3},
]


def _labels(n_class: int, n: int = 4):
    return paddle.to_tensor(np.arange(n) % n_class, dtype="int64") if n_class else None


@pytest.mark.parametrize("cfg", G_CASES, ids=lambda c: f"{c['name']}-{c['img_size']}")
def test_generator_shape_and_range(cfg):
    net = build_from_config(cfg, GENERATORS)
    out = net(paddle.randn([4, 8]) * 5, _labels(cfg.get("n_class", 0)))
    size, channels = cfg["img_size"], cfg.get("output_nc", 1)
    assert list(out.shape) == [4, channels, size, size]
    assert float(out.min()) >= -1.0 and float(out.max()) <= 1.0


@pytest.mark.parametrize("cfg", D_CASES, ids=lambda c: f"{c['name']}-{c['img_size']}")
def test_discriminator_gives_one_logit_per_image(cfg):
    net = build_from_config(cfg, DISCRIMINATORS)
    size, channels = cfg["img_size"], cfg.get("input_nc", 1)
    out = net(paddle.rand([4, channels, size, size]) * 2 - 1, _labels(cfg.get("n_class", 0)))
    assert list(out.shape) == [4]
    assert np.isfinite(out.numpy()).all()


def test_resolution_plan():
    assert resolution_plan(28) == (7, 2)
    assert resolution_plan(32) == (4, 3)
    assert resolution_plan(64) == (4, 4)
    with pytest.raises(ValueError, match="img_size"):
        resolution_plan(30)


def test_conditional_generator_uses_labels():
    net = build_from_config(G_CASES[-1], GENERATORS)
    net.eval()
    z = paddle.randn([1, 8]).tile([3, 1])
    out = net(z, paddle.to_tensor([0, 1, 2], dtype="int64")).numpy()
    assert np.abs(out[0] - out[1]).max() > 1e-4 and np.abs(out[1] - out[2]).max() > 1e-4


def test_conditional_discriminator_uses_labels():
    net = build_from_config(D_CASES[-1], DISCRIMINATORS)
    net.eval()
    x = (paddle.rand([1, 1, 32, 32]) * 2 - 1).tile([3, 1, 1, 1])
    out = net(x, paddle.to_tensor([0, 1, 2], dtype="int64")).numpy()
    assert len(set(np.round(out, 6).tolist())) == 3


def test_label_errors_are_clear():
    cond = build_from_config(G_CASES[-1], GENERATORS)
    with pytest.raises(ValueError, match="class_id"):
        cond(paddle.randn([2, 8]))
    plain = build_from_config(G_CASES[2], GENERATORS)
    with pytest.raises(ValueError, match="unconditional"):
        plain(paddle.randn([2, 8]), paddle.to_tensor([0, 1], dtype="int64"))
    with pytest.raises(ValueError, match="n_class > 0"):
        build_from_config({"name": "ConditionalDCGANGenerator", "n_class": 0}, GENERATORS)


def test_dcgan_init_statistics():
    net = build_from_config({"name": "DCGANGenerator", "nz": 64, "ngf": 32, "img_size": 32}, GENERATORS)
    init_weights(net, "dcgan")
    conv = net.body[1][0].weight.numpy()
    bn = net.body[1][1].weight.numpy()
    assert abs(conv.std() - 0.02) < 0.002 and abs(conv.mean()) < 0.002
    assert abs(bn.mean() - 1.0) < 0.01 and 0.01 < bn.std() < 0.03


def test_xavier_kaiming_orthogonal_init():
    lin = paddle.nn.Linear(200, 100)
    init_weights(lin, "xavier", 1.0)
    assert abs(lin.weight.numpy().std() - np.sqrt(2.0 / 300)) < 0.01
    assert np.all(lin.bias.numpy() == 0)
    init_weights(lin, "kaiming", 1.0)
    assert abs(lin.weight.numpy().std() - np.sqrt(2.0 / 200)) < 0.01
    init_weights(lin, "orthogonal", 1.0)
    w = lin.weight.numpy()  # [200, 100]: orthonormal columns
    np.testing.assert_allclose(w.T @ w, np.eye(100), atol=1e-4)
    with pytest.raises(ValueError, match="init_type"):
        init_weights(lin, "uniformish")


def test_init_reaches_spectral_norm_weights():
    net = build_from_config(dict(D_CASES[4], ndf=32), DISCRIMINATORS)  # 512 weights in the first conv
    init_weights(net, "normal", 0.5)
    assert abs(net.body[0].weight_orig.numpy().std() - 0.5) < 0.1
