"""Detector weights offline: every missing file is named in one message (no network)."""
import urllib.error

import pytest

from ppgan_app.errors import WeightsUnavailableError
from ppgan_app.faces.detectors.blazeface import BlazeFaceDetector
from ppgan_app.utils import download


def test_blazeface_offline_names_both_files(tmp_path, monkeypatch):
    monkeypatch.setenv(download.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(download, "_sleep", lambda seconds: None)
    calls = []

    def offline(url, timeout):
        calls.append(url)
        raise urllib.error.URLError("Network is unreachable")

    monkeypatch.setattr(download, "_open_url", offline)
    with pytest.raises(WeightsUnavailableError) as info:
        BlazeFaceDetector()
    message = str(info.value)
    for name in ("blazeface", "blazeface-anchors"):
        assert download.WEIGHT_URLS[name] in message and str(download.cached_path(name)) in message
    assert "\n" not in message and "--face_detector dlib or yunet" in message
