"""Face crop boxes (PaddleGAN's margin rule), duplicates, largest-first order, driving squares."""
import numpy as np
import pytest

from ppgan_app.faces.crop import (crop_resize, driving_crop_box, drop_duplicates, face_crop_box,
                                 face_crop_boxes, iou, square_box)


def test_margin_rule_on_a_known_box():
    # face 87x87 at (179, 83): margin 87, ±87 vertically, ±int(0.8·87)=69 horizontally
    assert face_crop_box((179, 83, 266, 170), (512, 512)) == (153, 39, 291, 213)


def test_margin_rule_clips_to_the_image():
    assert face_crop_box((0, 0, 50, 60), (100, 100)) == (0, 0, 25 + 48, 30 + 60)


def test_duplicates_dropped_and_largest_first():
    faces = np.array([[300, 300, 340, 340, 1.0],   # small face
                      [100, 100, 200, 200, 1.0],   # large face
                      [103, 102, 197, 198, 0.5]])  # same face, slightly smaller box
    boxes = face_crop_boxes(faces, (512, 512))
    assert len(boxes) == 2
    assert boxes[0] == face_crop_box(faces[1], (512, 512))
    assert boxes[1] == face_crop_box(faces[0], (512, 512))
    assert drop_duplicates([(0, 0, 10, 10), (0, 0, 10, 9)]) == [(0, 0, 10, 10)]
    assert iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0


def test_crop_boxes_on_astronaut_with_dlib():
    from skimage import data

    from ppgan_app.faces.detectors import build_raw_detector

    image = data.astronaut()
    faces = build_raw_detector("dlib")(image)
    assert len(faces) == 1
    x1, y1, x2, y2 = faces[0, :4]
    assert 170 <= x1 <= 190 and 75 <= y1 <= 95 and 255 <= x2 <= 275 and 160 <= y2 <= 180
    (box,) = face_crop_boxes(faces, image.shape[:2])
    assert box == face_crop_box(faces[0], image.shape[:2])
    assert abs((box[3] - box[1]) / (box[2] - box[0]) - 1 / 0.8) < 0.05  # 2m tall, 1.6m wide
    assert crop_resize(image, box, 64).shape == (64, 64, 3)


def test_yunet_finds_the_astronaut():
    pytest.importorskip("yuface")
    from skimage import data

    from ppgan_app.faces.detectors import build_face_detector

    faces = build_face_detector("yunet")(data.astronaut())
    # mapped to BlazeFace's framing: about (175, 78, 275, 178) on this image
    assert len(faces) >= 1 and iou(faces[0], (175, 78, 275, 178)) > 0.8


def test_dlib_upsamples_to_find_small_faces():
    import cv2
    from skimage import data

    from ppgan_app.faces.detectors import build_face_detector

    small = cv2.resize(data.astronaut(), (128, 128), interpolation=cv2.INTER_AREA)  # ~22 px face
    assert len(build_face_detector("dlib")(small)) == 1


def test_detector_names_are_checked():
    from ppgan_app.errors import InputError
    from ppgan_app.faces.detectors import DETECTOR_NAMES, build_face_detector

    assert DETECTOR_NAMES == ("sfd", "blazeface", "dlib", "yunet")
    with pytest.raises(InputError, match="choose from sfd, blazeface, dlib, yunet"):
        build_face_detector("nope")


@pytest.mark.parametrize("name, url_part", [("sfd", "s3fd_paddle.pdparams"),
                                            ("blazeface", "blazeface.pdparams")])
def test_missing_detector_weights_say_where_to_put_them(name, url_part, tmp_path, monkeypatch):
    from ppgan_app.errors import WeightsUnavailableError
    from ppgan_app.faces.detectors import build_face_detector

    with pytest.raises(WeightsUnavailableError) as err:
        build_face_detector(name)  # the faces conftest makes the network unreachable
    message = str(err.value)
    assert url_part in message and str(tmp_path / "cache") in message
    assert "dlib or yunet" in message and "\n" not in message


def test_wrong_weight_file_is_a_checkpoint_error(tmp_path):
    import paddle

    from ppgan_app.errors import CheckpointError
    from ppgan_app.faces.detectors.blazeface import BlazeFaceDetector

    bad = tmp_path / "bad.pdparams"
    paddle.save({"conv.weight": paddle.zeros([2, 2])}, str(bad))
    with pytest.raises(CheckpointError, match="expected network"):
        BlazeFaceDetector(weight_path=str(bad), anchors=np.zeros((896, 4), np.float32))


def test_square_boxes_for_driving_videos():
    assert square_box((10, 10), 40, (100, 200)) == (0, 0, 40, 40)
    assert square_box((150, 50), 300, (100, 200)) == (100, 0, 200, 100)
    box = driving_crop_box([[40, 40, 60, 60], [42, 40, 62, 60], [38, 41, 58, 61]], (200, 200))
    assert box[2] - box[0] == box[3] - box[1] >= 40
    assert box[0] <= 38 and box[2] >= 62


def test_close_faces_are_both_kept_though_their_crops_overlap():
    from ppgan_app.faces.crop import faces_and_crops

    faces = np.array([[100, 100, 200, 200, 1.0], [150, 100, 250, 200, 1.0]])
    crops = [face_crop_box(f, (512, 512)) for f in faces]
    assert iou(*crops) > 0.5  # PaddleGAN's duplicate test on crops would drop one
    found = faces_and_crops(faces, (512, 512))
    assert [crop for _, crop in found] == crops
