"""PSNR and SSIM against scikit-image; value ranges; the Fréchet distance and its pixel variant."""
import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from ppgan_app.metrics.frechet import frechet_distance
from ppgan_app.registries import METRICS
from ppgan_app.utils.registry import build_from_config


def pair(seed=0, shape=(3, 2, 24, 24)):
    rng = np.random.RandomState(seed)
    a = rng.rand(*shape)
    return a, np.clip(a + 0.1 * rng.randn(*shape), 0, 1)


def build(name, **kwargs):
    return build_from_config(dict(name=name, **kwargs), METRICS)


def test_psnr_matches_skimage_and_ranges():
    a, b = pair()
    ref = np.mean([peak_signal_noise_ratio(x, y, data_range=1) for x, y in zip(a, b)])
    unit = build("PSNR", value_range="[0,1]")
    unit.update(a, b)
    sym = build("PSNR")  # [-1, 1]
    sym.update(a * 2 - 1, b * 2 - 1)
    np.testing.assert_allclose([unit.accumulate(), sym.accumulate()], ref, rtol=1e-6)
    same = build("PSNR", max_db=80.0)
    same.update(a, a)
    assert same.accumulate() == 80.0
    same.reset()
    assert np.isnan(same.accumulate())


def test_ssim_matches_skimage():
    a, b = pair(1)
    ref = np.mean([structural_similarity(x, y, channel_axis=0, data_range=1, gaussian_weights=True,
                                         use_sample_covariance=False) for x, y in zip(a, b)])
    metric = build("SSIM")
    metric.update(a[:2] * 2 - 1, b[:2] * 2 - 1)
    metric.update(a[2:] * 2 - 1, b[2:] * 2 - 1)
    np.testing.assert_allclose(metric.accumulate(), ref, rtol=1e-6)
    metric.reset()
    metric.update(a, a)
    np.testing.assert_allclose(metric.accumulate(), 1.0)


def test_metric_input_errors():
    with pytest.raises(ValueError, match="same shape"):
        build("PSNR").update(np.zeros((1, 1, 8, 8)), np.zeros((1, 1, 8, 9)))
    with pytest.raises(ValueError, match="at least 11"):
        build("SSIM").update(np.zeros((1, 1, 8, 8)), np.zeros((1, 1, 8, 8)))
    with pytest.raises(ValueError, match="value_range"):
        build("PSNR", value_range="0-255").update(np.zeros((1, 1, 8, 8)), np.zeros((1, 1, 8, 8)))


def test_frechet_distance_of_known_gaussians():
    # 1-D: (m1 - m2)^2 + s1 + s2 - 2 sqrt(s1 s2)
    np.testing.assert_allclose(frechet_distance(np.array([1.0]), np.array([[4.0]]),
                                                np.array([3.0]), np.array([[1.0]])), 4 + 4 + 1 - 4)
    cov = np.array([[2.0, 0.5], [0.5, 1.0]])
    assert abs(frechet_distance(np.zeros(2), cov, np.zeros(2), cov)) < 1e-9


def test_frechet_pixel_distance():
    rng = np.random.RandomState(0)
    real = rng.rand(200, 1, 28, 28) * 2 - 1
    metric = build("FrechetPixelDistance", pool_size=7)
    metric.update(real[:100], real[100:])
    close = metric.accumulate()
    metric.reset()
    metric.update(np.clip(real[:100] + 0.5, -1, 1), real[100:])
    far = metric.accumulate()
    assert 0 <= close < far
    odd = build("FrechetPixelDistance", pool_size=5)  # 28 is not a multiple of 5
    assert odd.features(real[:3]).shape == (3, 25)
    with pytest.raises(ValueError, match="at least 2"):
        build("FrechetPixelDistance").accumulate()


def test_frechet_distance_of_few_samples_equals_the_covariance_form():
    from ppgan_app.metrics.frechet import frechet_distance_of_samples

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(7, 20)), rng.normal(0.3, 2.0, size=(5, 20))  # fewer samples than dimensions
    full = frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    assert frechet_distance_of_samples(a, b) == pytest.approx(full, rel=1e-7)
    assert abs(frechet_distance_of_samples(a, a)) < 1e-9
    many = rng.normal(size=(40, 3))  # more samples than dimensions: the covariance form
    assert frechet_distance_of_samples(many, many[::-1]) == pytest.approx(0.0, abs=1e-9)
