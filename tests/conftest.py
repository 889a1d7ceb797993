"""Suite-wide isolation: a CLI run in one test must not change how the next one logs."""
import logging

import pytest


@pytest.fixture(autouse=True)
def _restore_package_logger():
    """``setup_logger`` (called by in-process CLI runs) stops propagation and adds handlers to
    the ``ppgan_app`` logger; put it back so ``caplog`` sees every test's records."""
    package = logging.getLogger("ppgan_app")
    saved = (list(package.handlers), package.propagate, package.level)
    yield
    package.handlers[:], package.propagate, package.level = saved[0], saved[1], saved[2]
