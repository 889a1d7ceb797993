"""Each face's own region, filling a neighbour out of a crop, and the keep-out paste factor."""
import numpy as np

from ppgan_app.faces.regions import (face_labels, face_regions, fill_neighbours, keep_out_alpha,
                                     keep_out_masks)

FACES = [(40, 40, 100, 100), (100, 40, 160, 100)]  # two 60 px faces, touching
BOX = (10, 0, 150, 160)  # face 0's crop, reaching into face 1


def test_regions_are_disjoint_and_cover_each_face():
    regions = face_regions(FACES, (160, 220))
    assert regions.shape == (2, 160, 220)
    assert not (regions[0] & regions[1]).any()
    assert regions[0][50:90, 45:95].all() and regions[1][50:90, 105:155].all()
    assert not regions.any(axis=0)[:, :10].any()  # far from both faces: nobody's
    assert face_regions([], (10, 10)).shape == (0, 10, 10)
    labels = face_labels(FACES, (160, 220))
    assert labels.dtype == np.int32 and set(np.unique(labels)) == {-1, 0, 1}


def test_keep_out_masks_are_the_other_faces_inside_each_crop():
    far = (190, 40, 215, 65)  # a third face, outside face 0's crop
    masks = keep_out_masks(FACES + [far], (160, 220), [BOX])
    regions = face_regions(FACES + [far], (160, 220))
    np.testing.assert_array_equal(masks[0], (regions[1] | regions[2])[0:160, 10:150])
    assert keep_out_masks(FACES[:1], (160, 220), [BOX]) == [None]  # alone: nothing to keep out
    assert keep_out_masks([FACES[0], far], (160, 220), [BOX]) == [None]  # out of reach


def test_fill_does_not_depend_on_the_neighbour():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (160, 220, 3), dtype=np.uint8)
    (hole,) = keep_out_masks(FACES, image.shape[:2], [BOX])
    crop = image[0:160, 10:150]
    other = crop.copy()
    other[hole] = 255 - other[hole]  # a different neighbour
    filled = fill_neighbours(crop, hole)
    assert filled.shape == (160, 140, 3)
    np.testing.assert_array_equal(filled, fill_neighbours(other, hole))
    np.testing.assert_array_equal(filled[~hole], crop[~hole])


def test_keep_out_alpha_is_zero_on_the_neighbour_and_smooth():
    (hole,) = keep_out_masks(FACES, (160, 220), [BOX])
    alpha = keep_out_alpha(hole)
    assert alpha.shape == (160, 140) and alpha.dtype == np.float32
    assert (alpha[hole] == 0).all()
    assert alpha[70, 30] == 1.0  # face 0's centre, away from the neighbour
    feather = 0.06 * 140
    assert max(np.abs(np.diff(alpha, axis=0)).max(),
               np.abs(np.diff(alpha, axis=1)).max()) <= 1.5 / feather + 0.02
    assert (keep_out_alpha(np.zeros((160, 140), bool)) == 1).all()
