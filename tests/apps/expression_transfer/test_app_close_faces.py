"""Faces that stand close together: no face's animation changes another face's pixels, and a
neighbour's pixels do not reach a face's network input (tiny random-weight FOMM, real YuNet)."""
import dataclasses
import logging

import numpy as np
import pytest
from PIL import Image

from ppgan_app.apps import FirstOrderPredictor
from ppgan_app.apps.expression_transfer.fomm_animator import build_fomm_animator
from ppgan_app.apps.expression_transfer.portrait import (Portrait, PortraitRenderer,
                                                         neighbour_keep_out)
from ppgan_app.apps.expression_transfer.predictor import source_face_boxes
from ppgan_app.faces.detectors import build_face_detector
from ppgan_app.faces.regions import face_regions


def group_picture(gap: float) -> np.ndarray:
    """The astronaut's head beside its mirror image, face boxes ``gap`` face widths apart."""
    from skimage import data

    left = data.astronaut()[10:330, 90:273 + int(round(gap * 97 / 2))]
    return np.ascontiguousarray(np.concatenate([left, left[:, ::-1]], axis=1))


@pytest.fixture(scope="module")
def animator(tiny_fomm):
    return build_fomm_animator(config=tiny_fomm["config"], weight_path=tiny_fomm["weights"],
                               image_size=64, engine="dygraph")


def portrait_of(image, multi_person=True):
    faces, boxes, _ = source_face_boxes(image, build_face_detector("yunet"), multi_person,
                                        False)
    assert len(faces) == 2
    return Portrait(path="group", image=image, boxes=boxes, whole=False, faces=faces,
                    keep_out=neighbour_keep_out(image.shape[:2], faces, boxes))


def render(animator, portrait):
    rng = np.random.default_rng(0)
    driving = rng.uniform(0, 1, (3, 3, 64, 64)).astype(np.float32)
    kp_driving = animator.keypoints(driving)
    kp_initial = {k: v[:1] for k, v in kp_driving.items()}
    renderer = PortraitRenderer(portrait, animator, ratio=0.4)
    return renderer, renderer.frames(renderer.crops(kp_driving, kp_initial, True, True))


def max_diff(a, b, region):
    return int(np.abs(a.astype(int) - b.astype(int))[region].max())


@pytest.mark.parametrize("gap", [0.3, 0.0])
def test_animating_one_face_leaves_its_neighbour_alone(animator, gap):
    image = group_picture(gap)
    portrait = portrait_of(image, multi_person=False)
    assert portrait.keep_out[0] is not None  # the neighbour reaches into the crop
    regions = face_regions(portrait.faces, image.shape[:2])
    _, frames = render(animator, portrait)
    assert max(max_diff(f, image, regions[1]) for f in frames) <= 1
    assert max(max_diff(f, image, regions[0]) for f in frames) > 20  # face 0 does move
    # without keeping it out (PaddleGAN's way) the neighbour's half-face is repainted
    _, unmasked = render(animator, dataclasses.replace(portrait, keep_out=[None]))
    assert max(max_diff(f, image, regions[1]) for f in unmasked) > 20


def test_multi_person_faces_stay_whole(animator):
    image = group_picture(0.0)
    portrait = portrait_of(image)
    regions = face_regions(portrait.faces, image.shape[:2])
    _, frames = render(animator, portrait)
    for k in range(2):  # on face k's region the result is face k's animation alone
        alone = dataclasses.replace(portrait, boxes=[portrait.boxes[k]],
                                    keep_out=[portrait.keep_out[k]])
        _, solo = render(animator, alone)
        assert max(max_diff(a, b, regions[k]) for a, b in zip(frames, solo)) <= 1


def test_keypoints_do_not_depend_on_the_neighbour(animator):
    image = group_picture(0.0)
    portrait = portrait_of(image)
    regions = face_regions(portrait.faces, image.shape[:2])
    other = image.copy()
    other[regions[1]] = np.random.default_rng(1).integers(0, 256, (int(regions[1].sum()), 3))
    kp = PortraitRenderer(portrait, animator, 0.4).kp_sources[0]
    kp_other = PortraitRenderer(dataclasses.replace(portrait, image=other), animator,
                                0.4).kp_sources[0]
    np.testing.assert_array_equal(np.asarray(kp["value"]), np.asarray(kp_other["value"]))
    unmasked = dataclasses.replace(portrait, keep_out=[None, None])
    kp_unmasked = PortraitRenderer(dataclasses.replace(unmasked, image=other), animator,
                                   0.4).kp_sources[0]
    assert np.abs(np.asarray(kp_unmasked["value"]) - np.asarray(kp["value"])).max() > 1e-3


def test_pipeline_says_a_neighbour_is_kept_out(tmp_path, media, tiny_fomm, caplog):
    path = str(tmp_path / "group.png")
    Image.fromarray(group_picture(0.1)).save(path)
    caplog.set_level(logging.INFO, logger="ppgan_app")
    summary = FirstOrderPredictor(
        output=str(tmp_path / "out"), config=tiny_fomm["config"], weight_path=tiny_fomm["weights"],
        image_size=64, relative=True, multi_person=True, engine="dygraph",
        progress=False).run_with_summary(path, media["clip"])
    assert summary.faces == 2 and summary.frames == 12
    assert sum("neighbouring face reaches into its crop" in r.getMessage()
               for r in caplog.records) == 2
