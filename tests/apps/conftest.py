"""Fixtures for the expression-transfer app tests (helpers live in app_helpers.py)."""
import pytest

from app_helpers import FakeAnimator, make_media


@pytest.fixture
def fake_animator() -> FakeAnimator:
    return FakeAnimator()


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> dict:
    return make_media(tmp_path_factory.mktemp("media"))
