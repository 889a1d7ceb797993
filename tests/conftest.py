"""Suite-wide fixtures: the tiny random-weight FOMM and ffprobe of tests/apps/app_helpers.py
(made once per session for every folder), and isolation of the package logger."""
import importlib.util
import logging
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "app_helpers", Path(__file__).resolve().parent / "apps" / "app_helpers.py")
app_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(app_helpers)


@pytest.fixture(scope="session")
def tiny_fomm(tmp_path_factory) -> dict:
    """A random-weight tiny FOMM config + checkpoint, made once per session."""
    return app_helpers.make_tiny_checkpoint(tmp_path_factory.mktemp("tiny_fomm"))


@pytest.fixture
def ffprobe():
    return app_helpers.ffprobe


@pytest.fixture(autouse=True)
def _restore_package_logger():
    """``setup_logger`` (called by in-process CLI runs) stops propagation and adds handlers to
    the ``ppgan_app`` logger; put it back so ``caplog`` sees every test's records."""
    package = logging.getLogger("ppgan_app")
    saved = (list(package.handlers), package.propagate, package.level)
    yield
    package.handlers[:], package.propagate, package.level = saved[0], saved[1], saved[2]


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Tests never touch the network: the kit's one opener fails as an offline machine's does
    (tests that simulate a download replace it with their own)."""
    import socket
    import urllib.error

    from ppgan_app.utils import download

    def blocked(url, timeout):
        raise urllib.error.URLError(socket.gaierror(-3, "network disabled in the test suite"))

    monkeypatch.setattr(download, "_open_url", blocked)
