"""Export-friendly FOMM building blocks equal the operations they replace."""
from __future__ import annotations

import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from ppgan_app.models.firstorder.blocks import (AntiAliasInterpolation2d, apply_2x2, invert_2x2,
                                           kp2gaussian, make_coordinate_grid,
                                           nearest_align_corners_index, upsample_nearest2x)


def test_upsample_equals_interpolate():
    x = paddle.randn([2, 3, 5, 7])
    np.testing.assert_array_equal(upsample_nearest2x(x).numpy(),
                                  F.interpolate(x, scale_factor=2).numpy())


@pytest.mark.parametrize("size,scale", [(64, 0.25), (256, 0.25), (512, 0.25), (100, 0.5),
                                        (256, 0.125)])
def test_row_picking_equals_paddle_nearest_align_corners(size, scale):
    """PaddleGAN downsamples with Paddle's nearest_interp(align_corners=True)."""
    out = int(size * scale)
    x = paddle.arange(size, dtype="float32").reshape([1, 1, size, 1])
    ref = paddle._C_ops.nearest_interp(x, None, None, None, "NCHW", -1, out, 1, [], "nearest",
                                       True, 1)
    assert nearest_align_corners_index(size, out) == tuple(int(v) for v in ref.numpy().ravel())


def test_anti_alias_shapes_and_kernel():
    down = AntiAliasInterpolation2d(3, 0.25)
    assert list(down.weight.shape) == [3, 1, 13, 13]
    assert float(down.weight[0].sum()) == pytest.approx(1.0, abs=1e-6)
    assert list(down(paddle.rand([2, 3, 64, 48])).shape) == [2, 3, 16, 12]
    mobile = AntiAliasInterpolation2d(3, 0.25, mobile_net=True)
    assert list(mobile.weight.shape) == [3, 1, 3, 3]


def test_invert_and_apply_2x2():
    m = paddle.to_tensor(np.eye(2) + np.random.default_rng(0).normal(0, 0.3, (4, 5, 2, 2)),
                         dtype="float32")
    np.testing.assert_allclose(invert_2x2(m).numpy(), paddle.inverse(m).numpy(), atol=1e-5)
    v = paddle.rand([4, 5, 2])
    np.testing.assert_allclose(apply_2x2(m, v).numpy(),
                               paddle.matmul(m, v.unsqueeze(-1)).squeeze(-1).numpy(), atol=1e-6)


def test_coordinate_grid_and_gaussian():
    grid = make_coordinate_grid((3, 5)).numpy()
    assert grid.shape == (3, 5, 2)
    np.testing.assert_allclose(grid[0, 0], [-1, -1])
    np.testing.assert_allclose(grid[2, 4], [1, 1])
    np.testing.assert_allclose(grid[1, 2], [0, 0])
    heat = kp2gaussian(paddle.to_tensor([[[0.0, 0.0]]]), (5, 5), 0.01).numpy()
    assert heat.shape == (1, 1, 5, 5) and heat[0, 0, 2, 2] == pytest.approx(1.0)
