"""Fixtures for the notebook tests: the tiny FOMM and media helpers of tests/apps."""
import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "app_helpers", Path(__file__).resolve().parent.parent / "apps" / "app_helpers.py")
app_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(app_helpers)


@pytest.fixture(scope="session")
def tiny_fomm(tmp_path_factory) -> dict:
    """A random-weight tiny FOMM config + checkpoint, made once per session."""
    return app_helpers.make_tiny_checkpoint(tmp_path_factory.mktemp("tiny_fomm_docs"))


@pytest.fixture
def ffprobe():
    return app_helpers.ffprobe
