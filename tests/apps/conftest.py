"""Fixtures for the expression-transfer app tests (helpers live in app_helpers.py)."""
import pytest

from app_helpers import FakeAnimator, make_media, make_tiny_checkpoint


@pytest.fixture
def fake_animator() -> FakeAnimator:
    return FakeAnimator()


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> dict:
    return make_media(tmp_path_factory.mktemp("media"))


@pytest.fixture(scope="session")
def tiny_fomm(tmp_path_factory) -> dict:
    """A random-weight tiny FOMM config + checkpoint, made once per session."""
    return make_tiny_checkpoint(tmp_path_factory.mktemp("tiny_fomm"))
