"""The GAN tab's service: class names from the checkpoint's data set, checked values."""
import math

import numpy as np
import pytest

from ppgan_app.apps.web.gan_tab import GanService, dataset_class_names, whole_number
from ppgan_app.errors import InputError

from app_helpers import tiny_gan_checkpoint


@pytest.fixture(scope="module")
def conditional(tmp_path_factory):
    return GanService(tiny_gan_checkpoint(tmp_path_factory.mktemp("gan"), n_class=10))


def test_rows_are_named_by_the_data_sets_classes(conditional):
    assert conditional.class_names[:2] == ["T-shirt/top", "Trouser"]
    image, caption = conditional.grid(4, 3, 0, "every class")
    assert caption.startswith("Rows, top to bottom: T-shirt/top, Trouser, Pullover")
    # 10 rows of 4 images of 32x32 (a grid pads by 2 px) zoomed x3, a name margin on the left
    assert image.shape[0] == 10 * 3 * (34 + 2) and image.shape[1] > 3 * (4 * 34 + 2)
    one, caption = conditional.grid(4, 3, 0, "Bag")
    assert caption.startswith("Rows, top to bottom: Bag ") and one.shape[0] * 10 == image.shape[0]


def test_same_seed_same_images_and_interpolation_strip(conditional):
    a, _ = conditional.grid(2, 7, 0.8, "Coat")
    b, _ = conditional.grid(2, 7, 0.8, "Coat")
    np.testing.assert_array_equal(a, b)
    strip = conditional.interpolation(3, 5, 0, 0, "Sneaker")
    assert strip.dtype == np.uint8 and strip.shape[:2] == (3 * (3 * 34 + 2), 3 * (5 * 34 + 2))


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, float("1e400"), 2.5, "7",
                                   True, None])
def test_non_finite_or_fractional_numbers_are_one_line_errors(conditional, value):
    with pytest.raises(InputError) as err:
        conditional.grid(4, value, 0)
    assert str(err.value).startswith("seed ") and "\n" not in str(err.value)
    with pytest.raises(InputError, match="truncation must be a positive number"):
        conditional.interpolation(2, 3, 0, -1)


def test_values_out_of_range_and_unknown_classes(conditional):
    with pytest.raises(InputError, match=r"steps must be in 2\.\.16, got 1"):
        conditional.interpolation(2, 1, 0, 0)
    with pytest.raises(InputError, match="class 'Hat' is not one of: T-shirt/top"):
        conditional.grid(4, 0, 0, "Hat")
    assert whole_number("n", 3.0, 1, 5) == 3


def test_class_names_fall_back_to_numbers():
    assert dataset_class_names({"dataset": {"train": {"name": "NoSuchSet"}}}, 3) == ["0", "1", "2"]
    assert dataset_class_names({"dataset": {"train": {"name": "MNISTDataset"}}}, 10)[9] == "9"
    assert dataset_class_names(None, 2) == ["0", "1"]
