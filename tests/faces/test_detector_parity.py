"""S3FD and BlazeFace against PaddleGAN 2.1.0's own detector code (fixtures from
tests/fixtures/make_face_fixtures.py): boxes within 1 px, scores within 1e-4."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from faces_helpers import FIXTURES


def _key_shapes(net) -> dict:
    return {k: list(v.shape) for k, v in net.state_dict().items()}


def _assert_same_faces(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    if len(theirs):
        assert np.abs(ours[:, :4] - theirs[:, :4]).max() <= 1.0
        assert np.abs(ours[:, 4] - theirs[:, 4]).max() <= 1e-4


@pytest.mark.parametrize("name", ["s3fd", "blazeface"])
def test_parameter_names_and_shapes_are_paddlegans(name):
    from ppgan_app.faces.detectors.blazeface import build_blazeface_net
    from ppgan_app.faces.detectors.s3fd import build_s3fd_net

    net = build_s3fd_net() if name == "s3fd" else build_blazeface_net()
    expected = json.loads((FIXTURES / f"keys_{name}.json").read_text())
    assert _key_shapes(net) == expected


def test_s3fd_matches_paddlegan_with_random_weights():
    from ppgan_app.faces.detectors.s3fd import (S3FDDetector, build_s3fd_net,
                                                randomize_s3fd_weights)

    data = np.load(FIXTURES / "s3fd_random.npz")
    net = build_s3fd_net()
    randomize_s3fd_weights(net, int(data["seed"]))
    detector = S3FDDetector(net=net)
    for name in ("astronaut_small", "astronaut_tall"):
        theirs = data[f"{name}_faces"]
        assert len(theirs) > 5  # the random weights give many faces: the test can fail
        bgr = np.ascontiguousarray(data[f"{name}_image"][..., ::-1])
        _assert_same_faces(detector.detect_bgr(bgr), theirs)


def _blazeface_images(folder) -> dict:
    from skimage.data import astronaut

    images = {n: cv2.imread(str(folder / f"{n}.png"))[..., ::-1]
              for n in ("1face", "3faces", "4faces")}
    image = astronaut()
    images.update(astronaut=image, astronaut_tall=image[:, 100:400],
                  astronaut_wide=image[60:360])
    return images


def test_blazeface_matches_paddlegan_with_real_weights(blazeface, blazeface_files):
    expected = np.load(FIXTURES / "blazeface_real.npz")
    for name, rgb in _blazeface_images(blazeface_files).items():
        for order, arr in (("rgb", rgb), ("bgr", rgb[..., ::-1])):
            ours = blazeface.detect_paddlegan(np.ascontiguousarray(arr))
            _assert_same_faces(ours, expected[f"{name}_{order}"])


def test_blazeface_finds_the_faces_paddlegan_finds(blazeface, blazeface_files):
    """Our detector (letterbox + tiles, RGB) keeps PaddleGAN's RGB result on square images;
    re-detecting small faces at 4x their size moves their boxes by a few pixels only."""
    from ppgan_app.faces.detectors.blazeface import BlazeFaceDetector

    plain = BlazeFaceDetector(net=blazeface.net, anchors=blazeface.anchors, refine=False)
    expected = np.load(FIXTURES / "blazeface_real.npz")
    for name in ("1face", "3faces", "astronaut"):
        rgb = _blazeface_images(blazeface_files)[name]
        refined = blazeface(rgb)
        ours = plain(rgb)
        assert len(refined) == len(ours)
        for face in ours:
            shift = np.abs(refined[:, :4] - face[:4]).max(axis=1).min()
            assert shift < 0.15 * (face[2] - face[0])
        theirs = expected[f"{name}_rgb"]
        assert len(ours) == len(theirs)
        for face in theirs:
            assert np.abs(ours[:, :4] - face[:4]).max(axis=1).min() <= 1.0


def test_blazeface_finds_small_faces_paddlegan_misses(blazeface):
    """A face of 128 px in a 1280x720 frame: PaddleGAN's central 128-px view misses it."""
    from skimage.data import astronaut

    face = cv2.resize(astronaut(), (256, 256), interpolation=cv2.INTER_AREA)
    frame = np.full((720, 1280, 3), 40, np.uint8)
    frame[100:356, 900:1156] = face  # outside the central square, face about 50 px
    assert len(blazeface.detect_paddlegan(np.ascontiguousarray(frame))) == 0
    found = blazeface(frame)
    assert len(found) == 1
    cx, cy = (found[0, 0] + found[0, 2]) / 2, (found[0, 1] + found[0, 3]) / 2
    assert 900 + 256 * 0.3 < cx < 900 + 256 * 0.7 and 100 + 256 * 0.15 < cy < 100 + 256 * 0.55
