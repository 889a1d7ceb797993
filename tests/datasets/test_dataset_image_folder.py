"""Image-folder dataset (flat and per-class) and the transforms."""
import cv2
import numpy as np
import pytest

from ppgan_app.datasets.image_folder import ImageFolderDataset
from ppgan_app.datasets.transforms import Normalize, RandomHorizontalFlip, build_transforms
from ppgan_app.errors import InputError
from ppgan_app.registries import DATASETS
from ppgan_app.utils.registry import build_from_config


def write_png(path, h=20, w=24, value=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.full((h, w, 3), value, np.uint8)
    img[:, : w // 2, 0] = 255  # left half red (RGB) -> checks channel order
    cv2.imwrite(str(path), img[:, :, ::-1])


def test_flat_folder_is_one_class(tmp_path):
    for i in range(3):
        write_png(tmp_path / f"{i}.png")
    (tmp_path / "notes.txt").write_text("not an image")
    ds = build_from_config({"name": "ImageFolderDataset", "data_root": str(tmp_path),
                            "transforms": [{"name": "Resize", "size": 16}]}, DATASETS)
    assert len(ds) == 3 and ds.class_names == [tmp_path.name]
    item = ds[0]
    assert item["img"].shape == (3, 16, 16) and item["img"].dtype == np.float32
    assert int(item["class_id"]) == 0
    assert item["img"][0, :, 0].min() == pytest.approx(1.0)   # red channel, left column
    assert item["img"][1, :, 0].max() == pytest.approx(-1.0)  # green channel, left column


def test_class_subfolders(tmp_path):
    for cls, n in (("cat", 2), ("dog", 3)):
        for i in range(n):
            write_png(tmp_path / cls / f"{i}.jpg")
    (tmp_path / "empty").mkdir()
    ds = ImageFolderDataset(str(tmp_path), channels=1)
    assert ds.class_names == ["cat", "dog"] and len(ds) == 5
    assert [int(ds[i]["class_id"]) for i in range(5)] == [0, 0, 1, 1, 1]
    assert ds[0]["img"].shape == (1, 20, 24)


def test_missing_and_empty_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ImageFolderDataset(str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match="no images"):
        ImageFolderDataset(str(tmp_path))


def test_transforms_from_config():
    img = np.arange(4 * 6, dtype=np.uint8).reshape(4, 6, 1)
    out = build_transforms([{"name": "RandomHorizontalFlip", "prob": 1.0}, {"name": "CenterCrop", "size": [2, 4]},
                            {"name": "Resize", "size": [4, 8], "interpolation": "nearest"}])(img)
    assert out.shape == (1, 4, 8) and out.dtype == np.float32
    assert out.min() >= -1 and out.max() <= 1
    np.testing.assert_array_equal(RandomHorizontalFlip(1.0)(img), img[:, ::-1])
    np.testing.assert_array_equal(RandomHorizontalFlip(0.0)(img), img)
    assert isinstance(build_transforms(None).transforms[-1], Normalize)
    np.testing.assert_allclose(Normalize(0.0, 255.0)(np.full((2, 2, 1), 255, np.uint8)), 1.0)


def test_transform_errors():
    with pytest.raises(ValueError, match="last"):
        build_transforms([{"name": "Normalize"}, {"name": "Resize", "size": 8}])
    with pytest.raises(KeyError, match="Resize"):
        build_transforms([{"name": "Rescale"}])


def test_numbered_class_folders_keep_their_ids(tmp_path):
    for cls in ("3", "07", "10"):  # a subset of classes, as tools/generate.py --labels writes
        write_png(tmp_path / cls / "0.png")
    ds = ImageFolderDataset(str(tmp_path), channels=1)
    labels = sorted(int(ds[i]["class_id"]) for i in range(len(ds)))
    assert labels == [3, 7, 10]
    assert ds.class_names[3] == "3" and ds.class_names[7] == "07" and ds.class_names[0] == ""


@pytest.mark.parametrize("content, reason", [(b"", "the file is empty"),
                                             (b"\x89PNG\r\n\x1a\n broken", "not a readable image")])
def test_unreadable_image_is_an_input_error_naming_it(tmp_path, content, reason):
    write_png(tmp_path / "0.png")
    (tmp_path / "1.png").write_bytes(content)
    ds = ImageFolderDataset(str(tmp_path))
    assert ds[0]["img"].shape[0] == 3
    with pytest.raises(InputError, match=reason) as err:
        ds[1]
    assert str(tmp_path / "1.png") in str(err.value)
