"""CLI tests: tiny_fomm and ffprobe come from tests/conftest.py."""
import pytest


@pytest.fixture(autouse=True)
def _restore_environment():
    """main() sets CPU environment variables for its process; undo that between tests."""
    import os

    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
