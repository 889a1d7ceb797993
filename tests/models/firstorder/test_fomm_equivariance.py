"""The random warps of FOMM's equivariance losses: identity at zero sigma, analytic affine warps."""
import numpy as np
import paddle

from ppgan_app.models.firstorder import Transform
from ppgan_app.models.firstorder.blocks import make_coordinate_grid


def ramp_images(n=2, h=12, w=16):
    """Channel 0 = x and channel 1 = y coordinate in [-1, 1] (bilinear sampling is exact on it)."""
    grid = make_coordinate_grid((h, w))                               # [h, w, 2]
    image = paddle.concat([grid.transpose([2, 0, 1]), paddle.zeros([1, h, w])], axis=0)
    return paddle.expand(image.unsqueeze(0), [n, 3, h, w])


def test_zero_sigma_is_the_identity():
    paddle.seed(0)
    transform = Transform(2, sigma_affine=0.0, sigma_tps=0.0, points_tps=5)
    frames = paddle.rand([2, 3, 12, 16])
    np.testing.assert_allclose(transform.transform_frame(frames).numpy(), frames.numpy(), atol=1e-5)
    points = paddle.uniform([2, 4, 2], min=-1, max=1)
    points.stop_gradient = False
    np.testing.assert_allclose(transform.warp_coordinates(points).numpy(), points.numpy(), atol=1e-6)
    eye = np.broadcast_to(np.eye(2), (2, 4, 2, 2))
    np.testing.assert_allclose(transform.jacobian(points).numpy(), eye, atol=1e-6)


def test_affine_warp_matches_the_analytic_transform():
    paddle.seed(0)
    transform = Transform(2, sigma_affine=0.0)                         # affine only
    theta = np.array([[[0.8, -0.1, 0.05], [0.1, 0.8, -0.04]],           # rotate, zoom, shift
                      [[0.85, 0.0, 0.1], [0.0, 0.9, 0.0]]], np.float32)  # all inside [-1, 1]
    transform.theta = paddle.to_tensor(theta)
    out = transform.transform_frame(ramp_images()).numpy()
    grid = make_coordinate_grid((12, 16)).numpy()                      # [h, w, 2] (x, y)
    for b in range(2):
        expected = grid @ theta[b, :, :2].T + theta[b, :, 2]           # where each pixel samples
        np.testing.assert_allclose(out[b, 0], expected[..., 0], atol=1e-5)
        np.testing.assert_allclose(out[b, 1], expected[..., 1], atol=1e-5)
    points = paddle.to_tensor(np.random.default_rng(0).uniform(-1, 1, (2, 3, 2)).astype("float32"))
    points.stop_gradient = False
    jac = transform.jacobian(points).numpy()
    np.testing.assert_allclose(jac, np.broadcast_to(theta[:, None, :, :2], (2, 3, 2, 2)), atol=1e-6)
