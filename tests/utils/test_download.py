"""resolve_weights: local files, the cache, downloads and offline failure (no network)."""
from __future__ import annotations

import io
import urllib.error

import pytest

from ppgan_app.utils import download


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(download.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(download, "_sleep", lambda seconds: None)

    def no_network(url, timeout):
        raise AssertionError(f"unexpected network access: {url}")

    monkeypatch.setattr(download, "_open_url", no_network)


def test_local_file_is_used_as_is(tmp_path):
    weights = tmp_path / "my.pdparams"
    weights.write_bytes(b"x")
    assert download.resolve_weights(str(weights)) == weights


def test_cached_file_is_not_downloaded_again():
    target = download.cached_path("vox-cpk")
    target.parent.mkdir(parents=True)
    target.write_bytes(b"cached")
    assert download.resolve_weights("vox-cpk") == target


def test_cache_folder_follows_env(tmp_path):
    assert download.cached_path("vgg19") == tmp_path / "cache" / "vgg19.pdparams"


def test_download_retries_then_renames_into_place(monkeypatch):
    calls = []

    class Response(io.BytesIO):
        headers = {"Content-Length": "7"}

    def flaky(url, timeout):
        calls.append(url)
        if len(calls) == 1:
            raise urllib.error.URLError("temporary failure")
        return Response(b"weights")

    monkeypatch.setattr(download, "_open_url", flaky)
    path = download.resolve_weights("vox-mobile")
    assert path == download.cached_path("vox-mobile")
    assert path.read_bytes() == b"weights"
    assert calls == [download.WEIGHT_URLS["vox-mobile"]] * 2
    assert [p.name for p in path.parent.iterdir()] == [path.name]   # no temp file left


def test_offline_error_names_url_cache_and_flag(monkeypatch):
    def offline(url, timeout):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(download, "_open_url", offline)
    with pytest.raises(download.WeightsUnavailableError) as info:
        download.resolve_weights("vox-cpk", retries=2)
    message = str(info.value)
    assert download.WEIGHT_URLS["vox-cpk"] in message
    assert str(download.cached_path("vox-cpk")) in message
    assert "--weight_path" in message
    assert not download.cached_path("vox-cpk").exists()
    assert list(download.cache_dir().iterdir()) == []                # temp file removed


def test_truncated_download_is_rejected(monkeypatch):
    class Short(io.BytesIO):
        headers = {"Content-Length": "100"}

    monkeypatch.setattr(download, "_open_url", lambda url, timeout: Short(b"abc"))
    with pytest.raises(download.WeightsUnavailableError, match="incomplete"):
        download.resolve_weights("s3fd", retries=1)


def test_unknown_name_lists_known_names():
    with pytest.raises(download.WeightsUnavailableError, match="vox-cpk"):
        download.resolve_weights("no-such-model")


def test_table_has_the_official_files():
    for name in ("vox-cpk", "vox-cpk-512", "vox-mobile", "s3fd", "blazeface",
                 "blazeface-anchors", "gpen-512", "vgg19"):
        assert download.WEIGHT_URLS[name].startswith("https://paddlegan.bj.bcebos.com/")


def test_disk_full_fails_at_once_naming_the_cause(monkeypatch):
    import errno

    from ppgan_app.errors import OutputError

    calls = []

    class Response(io.BytesIO):
        headers = {"Content-Length": "7"}

    def opened(url, timeout):
        calls.append(url)
        return Response(b"weights")

    def full_disk(source, out, total, label):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(download, "_open_url", opened)
    monkeypatch.setattr(download, "_copy_with_progress", full_disk)
    target = download.cached_path("vox-mobile")
    with pytest.raises(OutputError, match=f"no space left on device at {target}"):
        download.resolve_weights("vox-mobile")
    assert len(calls) == 1  # no retries: they cannot help
    assert list(target.parent.iterdir()) == []


def test_a_name_that_does_not_resolve_fails_at_once(monkeypatch):
    import socket

    calls, waits = [], []

    def no_dns(url, timeout):
        calls.append(url)
        raise urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))

    monkeypatch.setattr(download, "_open_url", no_dns)
    monkeypatch.setattr(download, "_sleep", waits.append)
    with pytest.raises(download.WeightsUnavailableError, match="Name or service not known"):
        download.resolve_weights("vox-cpk", retries=3)
    assert len(calls) == 1 and waits == []


def test_a_cache_path_that_is_a_file_is_said_so(tmp_path, monkeypatch):
    from ppgan_app.errors import OutputError

    blocker = tmp_path / "cache_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(download.CACHE_ENV, str(blocker))
    with pytest.raises(OutputError, match=f"the cache path {blocker} is a file, not a folder"):
        download.resolve_weights("vox-cpk")


def test_a_checksum_mismatch_is_a_failed_download(tmp_path, monkeypatch):
    class Response(io.BytesIO):
        headers = {"Content-Length": "4"}

    monkeypatch.setattr(download, "_open_url", lambda url, timeout: Response(b"evil"))
    target = tmp_path / "cache" / "f.gz"
    with pytest.raises(OSError, match="published MD5 checksum"):
        download.download("https://example.invalid/f.gz", target, retries=2, md5="0" * 32)
    assert not target.exists()
    assert download.download("https://example.invalid/f.gz", target, retries=1,
                             md5="4034a346ccee15292d823416f7510a2f") == target  # md5(b"evil")
