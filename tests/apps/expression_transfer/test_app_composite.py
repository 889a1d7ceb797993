"""Feathered paste-back: no hard edge anywhere, single and multi-person."""
import numpy as np

from ppgan_app.apps.expression_transfer.composite import Compositor, feather_mask


def _max_step(img: np.ndarray) -> float:
    img = img.astype(np.float64)
    return max(np.abs(np.diff(img, axis=0)).max(), np.abs(np.diff(img, axis=1)).max())


def test_mask_is_one_inside_zero_at_border_and_smooth():
    mask = feather_mask(200, 160, ratio=0.4)
    assert mask.shape == (200, 160) and mask.dtype == np.float32
    assert mask[100, 80] == 1.0
    assert mask[0].max() == 0 and mask[-1].max() == 0
    assert mask[:, 0].max() == 0 and mask[:, -1].max() == 0
    # alpha changes by at most 1.5/28 (disc edge: 0.35 x 80 px) + 1.5/16 (border ramp) per pixel
    assert _max_step(mask) <= 1.5 / 28 + 1.5 / 16


def test_large_ratio_still_fades_at_the_crop_border():
    mask = feather_mask(100, 80, ratio=1.0)
    assert mask[0].max() == 0 and mask[:, 0].max() == 0
    assert _max_step(mask) <= 1.5 / 35 + 1.5 / 8 + 1.5 / 8  # disc, ellipse and border edges


def _paste(boxes, ratio=0.4):
    background = np.zeros((240, 320, 3), np.uint8)
    compose = Compositor(background, boxes, ratio)
    crops = [np.full((64, 64, 3), 255, np.uint8) for _ in boxes]
    return compose(crops)


def test_single_face_paste_has_no_seam():
    frame = _paste([(40, 20, 200, 220)])
    assert frame[120, 120].min() == 255  # centre fully pasted
    assert frame[:20].max() == 0 and frame[:, :40].max() == 0  # outside untouched
    # worst case, a white face on black: neighbours differ by ~15% at most (a seam would be 255)
    assert _max_step(frame) <= 255 * (1.5 / 28 + 1.5 / 16) + 2


def test_multi_person_paste_has_no_seam():
    frame = _paste([(10, 10, 150, 200), (160, 30, 310, 230)], ratio=0.5)
    assert frame[105, 80].min() == 255 and frame[130, 235].min() == 255
    assert _max_step(frame) <= 255 * (1.5 / 33 + 1.5 / 14) + 2  # disc edge + border ramp


def test_whole_image_mode_replaces_everything():
    background = np.zeros((30, 40, 3), np.uint8)
    compose = Compositor(background, [(0, 0, 40, 30)], whole_image=True)
    out = compose([np.full((16, 16, 3), 0.5, np.float32)])
    assert out.shape == (30, 40, 3) and (out == 128).all()


def test_every_accepted_ratio_pastes_a_soft_ellipse_never_the_rectangle():
    for ratio in (0.1, 0.3, 0.4, 0.5, 0.7, 1.0, 2.0):  # --ratio accepts (0, 2]
        mask = feather_mask(200, 160, ratio=ratio)
        corners = [mask[:30, :30], mask[:30, -30:], mask[-30:, :30], mask[-30:, -30:]]
        assert max(c.max() for c in corners) < 0.2, ratio  # the crop's rectangle never shows
        assert mask[100, 80] == 1.0
        # disc edge (at least 0.35 x 20 px) + inscribed ellipse edge (0.2 x 80 px) + border ramp
        assert _max_step(mask) <= 1.5 / 7 + 1.5 / 16 + 1.5 / 16, ratio
