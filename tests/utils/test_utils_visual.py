"""Image grids from [-1, 1] tensors."""
import cv2
import numpy as np
import paddle

from ppgan_app.utils.visual import make_grid, save_image_grid


def test_grid_layout_and_range():
    images = paddle.to_tensor(np.stack([np.full((1, 4, 4), v, np.float32) for v in (-1, 0, 1)]))
    grid = make_grid(images, nrow=2, padding=1)
    assert grid.shape == (2 * 5 + 1, 2 * 5 + 1, 1) and grid.dtype == np.uint8
    assert grid[1, 1, 0] == 0 and grid[1, 6, 0] == 128 and grid[6, 1, 0] == 255 and grid[6, 6, 0] == 0


def test_save_png_rgb(tmp_path):
    images = -np.ones((4, 3, 8, 8), np.float32)
    images[:, 0] = 1.0  # red
    path = save_image_grid(images, tmp_path / "a" / "g.png")
    read = cv2.imread(str(path))[..., ::-1]
    assert read.shape == (2 * 10 + 2, 2 * 10 + 2, 3) and tuple(read[2, 2]) == (255, 0, 0)
