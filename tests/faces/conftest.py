"""Fixtures for the face tests: the shared BlazeFace weights (skipped when absent)."""
from __future__ import annotations

from pathlib import Path

import pytest

from faces_helpers import BLAZEFACE_HINT, SHARED_BLAZEFACE


@pytest.fixture(scope="session")
def blazeface_files() -> Path:
    """The folder with ``blazeface.pdparams``, ``anchors.npy`` and the test images."""
    if not (SHARED_BLAZEFACE / "blazeface.pdparams").is_file():
        pytest.skip(BLAZEFACE_HINT)
    return SHARED_BLAZEFACE


@pytest.fixture(scope="session")
def blazeface(blazeface_files):
    """A BlazeFaceDetector on the real weights (PaddleGAN's file, loaded unchanged)."""
    from ppgan_app.faces.detectors.blazeface import BlazeFaceDetector

    return BlazeFaceDetector(str(blazeface_files / "blazeface.pdparams"),
                             str(blazeface_files / "anchors.npy"))


@pytest.fixture(autouse=True)
def _no_network(tmp_path, monkeypatch):
    """Weights come from an empty cache folder and never from the network."""
    from ppgan_app.utils import download

    monkeypatch.setenv(download.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(download, "_sleep", lambda seconds: None)

    def offline(url, timeout):
        raise OSError("network disabled in tests")

    monkeypatch.setattr(download, "_open_url", offline)
