"""Each face's own region, filling a neighbour out of a crop, and the keep-out paste factor."""
import numpy as np

from ppgan_app.faces.regions import (face_regions, fill_neighbours, keep_out_alpha,
                                     neighbour_masks)

FACES = [(40, 40, 100, 100), (100, 40, 160, 100)]  # two 60 px faces, touching


def test_regions_are_disjoint_and_cover_each_face():
    regions = face_regions(FACES, (160, 220))
    assert regions.shape == (2, 160, 220)
    assert not (regions[0] & regions[1]).any()
    assert regions[0][50:90, 45:95].all() and regions[1][50:90, 105:155].all()
    assert not regions.any(axis=0)[:, :10].any()  # far from both faces: nobody's
    assert face_regions([], (10, 10)).shape == (0, 10, 10)


def test_fill_does_not_depend_on_the_neighbour():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (160, 220, 3), dtype=np.uint8)
    (keep_out,) = neighbour_masks(FACES, image.shape[:2], [0])
    box = (10, 0, 150, 160)
    other = image.copy()
    other[keep_out] = 255 - other[keep_out]  # a different neighbour
    filled = fill_neighbours(image, box, keep_out)
    assert filled.shape == (160, 140, 3)
    np.testing.assert_array_equal(filled, fill_neighbours(other, box, keep_out))
    outside = ~keep_out[0:160, 10:150]
    np.testing.assert_array_equal(filled[outside], image[0:160, 10:150][outside])


def test_keep_out_alpha_is_zero_on_the_neighbour_and_smooth():
    (keep_out,) = neighbour_masks(FACES, (160, 220), [0])
    box = (10, 0, 150, 160)
    alpha = keep_out_alpha(keep_out, box)
    assert alpha.shape == (160, 140) and alpha.dtype == np.float32
    assert (alpha[keep_out[0:160, 10:150]] == 0).all()
    assert alpha[70, 30] == 1.0  # face 0's centre, away from the neighbour
    feather = 0.06 * 140
    assert max(np.abs(np.diff(alpha, axis=0)).max(),
               np.abs(np.diff(alpha, axis=1)).max()) <= 1.5 / feather + 0.02
    assert (keep_out_alpha(np.zeros((160, 220), bool), box) == 1).all()
