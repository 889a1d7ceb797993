"""idx reader, MNIST/Fashion-MNIST datasets on tiny files written here, missing-data errors."""
import gzip
from pathlib import Path

import numpy as np
import pytest

from ppgan_app.datasets.mnist import FashionMNISTDataset, MNISTDataset, read_idx, write_idx
from ppgan_app.errors import ConfigError, InputError
from ppgan_app.registries import DATASETS
from ppgan_app.utils.registry import build_from_config


def write_split(folder: Path, prefix: str, n: int, gz: bool = True, seed: int = 0) -> np.ndarray:
    folder.mkdir(parents=True, exist_ok=True)
    images = np.random.RandomState(seed).randint(0, 256, (n, 28, 28)).astype(np.uint8)
    ext = ".gz" if gz else ""
    write_idx(str(folder / f"{prefix}-images-idx3-ubyte{ext}"), images)
    write_idx(str(folder / f"{prefix}-labels-idx1-ubyte{ext}"), (np.arange(n) % 10).astype(np.uint8))
    return images


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, suffix):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / f"x-idx3-ubyte{suffix}"
    write_idx(str(path), array)
    np.testing.assert_array_equal(read_idx(str(path)), array)


def test_idx_rejects_other_files(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x89PNG....")
    with pytest.raises(ValueError, match="not an idx file"):
        read_idx(str(bad))
    short = tmp_path / "short"
    short.write_bytes(bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + b"\x00" * 3)
    with pytest.raises(ValueError, match="header says"):
        read_idx(str(short))


@pytest.mark.parametrize("gz", [True, False])
def test_dataset_items(tmp_path, gz):
    images = write_split(tmp_path, "train", 12, gz=gz)
    ds = build_from_config({"name": "FashionMNISTDataset", "data_root": str(tmp_path)}, DATASETS)
    assert len(ds) == 12
    item = ds[3]
    assert item["img"].shape == (1, 28, 28) and item["img"].dtype == np.float32
    np.testing.assert_allclose(item["img"][0], images[3] / 127.5 - 1.0, atol=1e-6)
    assert item["class_id"].dtype == np.int64 and int(item["class_id"]) == 3
    assert len(FashionMNISTDataset.class_names) == 10


def test_test_split_transforms_and_max_samples(tmp_path):
    write_split(tmp_path, "t10k", 20)
    ds = MNISTDataset(str(tmp_path), mode="test", max_samples=5,
                      transforms=[{"name": "Resize", "size": 32}, {"name": "Normalize"}])
    assert len(ds) == 5
    img = ds[0]["img"]
    assert img.shape == (1, 32, 32) and -1.0 <= img.min() and img.max() <= 1.0


def test_dataset_rejects_loader_keys(tmp_path):
    """batch_size/num_workers belong to the engine's loader, which pops them first."""
    write_split(tmp_path, "train", 4)
    with pytest.raises(ConfigError, match="unknown key 'batch_size' for datasets MNISTDataset; it takes: "
                                          "data_root, mode, transforms, max_samples"):
        build_from_config({"name": "MNISTDataset", "dataroot": str(tmp_path), "batch_size": 2}, DATASETS)


def test_missing_folder_says_where_and_how(tmp_path):
    where = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError) as err:
        FashionMNISTDataset(str(where))
    message = str(err.value)
    for part in (str(where), "does not exist", "train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
                 "fashion-mnist.s3-website", "dataroot", "cache"):
        assert part in message


def test_missing_file_in_existing_folder(tmp_path):
    write_split(tmp_path, "train", 4)
    (tmp_path / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match=r"lacks train-labels-idx1-ubyte\[\.gz\]"):
        MNISTDataset(str(tmp_path))


def test_engine_loader_batches_items(tmp_path):
    loader_mod = pytest.importorskip("ppgan_app.engine.data")
    write_split(tmp_path, "train", 10)
    loader, _ = loader_mod.build_loader({"name": "MNISTDataset", "data_root": str(tmp_path), "batch_size": 4,
                                         "num_workers": 0}, train=True, seed=0)
    batch = next(iter(loader))
    assert list(batch["img"].shape) == [4, 1, 28, 28]
    assert list(batch["class_id"].shape) == [4] and str(batch["class_id"].dtype).endswith("int64")


def _good_images(folder, n=6):
    path = folder / "train-images-idx3-ubyte.gz"
    write_idx(str(path), np.zeros((n, 28, 28), np.uint8))
    return path


@pytest.mark.parametrize("damage, message", [
    ("truncate", "truncated or damaged"),
    ("not_gzip", "is not a gzip file"),
    ("cut_body", "header says shape"),
    ("empty", "is empty"),
])
def test_damaged_image_file_is_an_input_error_naming_it(tmp_path, damage, message):
    path = _good_images(tmp_path)
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "not_gzip":
        path.write_bytes(gzip.decompress(data))  # a raw idx file under a .gz name
    elif damage == "cut_body":
        path.write_bytes(gzip.compress(gzip.decompress(data)[:-100]))
    else:
        path.write_bytes(b"")
    with pytest.raises(InputError, match=message) as err:
        read_idx(str(path))
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_label_count_mismatch_is_an_input_error(tmp_path):
    _good_images(tmp_path, n=6)
    write_idx(str(tmp_path / "train-labels-idx1-ubyte.gz"), np.zeros(5, np.uint8))
    with pytest.raises(InputError, match="holds 6 images but .*train-labels-idx1-ubyte.gz holds labels"):
        build_from_config({"name": "MNISTDataset", "data_root": str(tmp_path)}, DATASETS)


def test_label_file_that_is_not_idx(tmp_path):
    _good_images(tmp_path, n=6)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"<html>not found</html>")
    with pytest.raises(InputError, match="train-labels-idx1-ubyte is not an idx file"):
        build_from_config({"name": "MNISTDataset", "data_root": str(tmp_path)}, DATASETS)


# --- the kit's cache: downloaded on first use (the opener is replaced: no network) -------------
def _gz_idx(array: np.ndarray) -> bytes:
    import io
    import struct
    raw = struct.pack(">HBB", 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as handle:
        handle.write(raw)
    return buffer.getvalue()


@pytest.fixture
def fake_site(tmp_path, monkeypatch):
    """A stand-in for the official site: ``served`` maps URLs to bytes, ``calls`` lists requests;
    the published MD5 table is replaced by the fakes' checksums."""
    import hashlib
    import io

    from ppgan_app.datasets import mnist
    from ppgan_app.utils import download

    monkeypatch.setenv(download.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(download, "_sleep", lambda seconds: None)
    files = {f"{split}-{kind}": _gz_idx(array) for split in ("train", "t10k") for kind, array in
             (("images-idx3-ubyte.gz", np.zeros((3, 28, 28), np.uint8)),
              ("labels-idx1-ubyte.gz", np.arange(3, dtype=np.uint8)))}
    source = mnist.IDX_SOURCES["fashion-mnist"]
    monkeypatch.setitem(mnist.IDX_SOURCES, "fashion-mnist", mnist.IdxSource(
        source.urls, {**source.md5, **{k: hashlib.md5(v).hexdigest() for k, v in files.items()}}))
    site = {"served": {source.urls[0] + k: v for k, v in files.items()}, "calls": []}

    def opener(url, timeout):
        site["calls"].append(url)
        if url not in site["served"]:
            raise download.urllib.error.URLError("Network is unreachable")
        response = io.BytesIO(site["served"][url])
        response.headers = {"Content-Length": str(len(site["served"][url]))}
        return response

    monkeypatch.setattr(download, "_open_url", opener)
    return site


def test_unset_dataroot_downloads_into_the_cache_once(fake_site, tmp_path):
    from ppgan_app.datasets.mnist import cache_folder

    data = FashionMNISTDataset()                       # dataroot unset: the cache
    assert len(data) == 3 and data.data_root == cache_folder("fashion-mnist")
    assert data.data_root == tmp_path / "cache" / "datasets" / "fashion-mnist"
    assert len(fake_site["calls"]) == 4                # all four files at once
    assert len(FashionMNISTDataset("fashion-mnist", mode="test")) == 3   # the name means the cache
    assert len(fake_site["calls"]) == 4                # already there: no second download


def test_a_bad_checksum_is_refused_then_the_mirror_is_tried(fake_site):
    from ppgan_app.datasets.mnist import IDX_SOURCES
    urls = IDX_SOURCES["fashion-mnist"].urls
    official = urls[0] + "train-images-idx3-ubyte.gz"
    fake_site["served"][urls[1] + "train-images-idx3-ubyte.gz"] = fake_site["served"][official]
    fake_site["served"][official] = b"tampered"
    assert len(FashionMNISTDataset()) == 3
    assert fake_site["calls"].count(official) == 2      # two attempts, both with the wrong MD5


def test_offline_says_which_files_go_where_in_one_line(fake_site, tmp_path):
    fake_site["served"].clear()
    with pytest.raises(InputError) as info:
        FashionMNISTDataset(mode="test")
    message = str(info.value)
    assert "\n" not in message
    for part in ("train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
                 "t10k-labels-idx1-ubyte.gz",
                 "fashion-mnist.s3-website", str(tmp_path / "cache" / "datasets" / "fashion-mnist"),
                 "-o dataset.test.dataroot=<folder>"):
        assert part in message


def test_another_data_sets_name_is_refused(fake_site):
    with pytest.raises(ConfigError, match="names another data set"):
        FashionMNISTDataset("mnist")
