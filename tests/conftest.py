"""Suite-wide fixtures: the tiny random-weight FOMM, test media, a fake animator and ffprobe of
tests/apps/app_helpers.py (made once per session for every folder), and isolation of the
package logger."""
import importlib.util
import logging
from pathlib import Path

import pytest


def _shared_helper(name: str, folder: Path = Path(__file__).resolve().parent / "apps"):
    """Import ``<folder>/<name>.py`` once under its own name, so every test folder can say
    ``from <name> import ...`` (the helpers are shared by the app, CLI and inference tests;
    ``tools/face_calibration.py`` is the library of a developer tool, not of the package)."""
    import sys

    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def pytest_configure(config):
    config.addinivalue_line("markers", "openvino: runs OpenVINO (ordered last, see below)")


def pytest_collection_modifyitems(config, items):
    """Tests that run OpenVINO go last: once OpenVINO has run in a process, Paddle DataLoader
    workers forked later by that process crash (docs/performance.md), and the suite is one
    process."""
    late = [item for item in items if item.get_closest_marker("openvino")]
    items[:] = [item for item in items if not item.get_closest_marker("openvino")] + late


app_helpers = _shared_helper("app_helpers")
_shared_helper("kit_checkpoint")
_shared_helper("face_calibration", Path(__file__).resolve().parents[1] / "tools")


@pytest.fixture(scope="session")
def tiny_fomm(tmp_path_factory) -> dict:
    """A random-weight tiny FOMM config + checkpoint, made once per session."""
    return app_helpers.make_tiny_checkpoint(tmp_path_factory.mktemp("tiny_fomm"))


@pytest.fixture
def fake_animator():
    """An animator that shifts the source by the driving frame's mean (no network)."""
    return app_helpers.FakeAnimator()


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> dict:
    """A portrait, a short driving clip with sound and other test media, made once."""
    return app_helpers.make_media(tmp_path_factory.mktemp("media"))


@pytest.fixture
def ffprobe():
    return app_helpers.ffprobe


@pytest.fixture(autouse=True)
def _restore_package_logger():
    """``setup_logger`` (called by in-process CLI runs) stops propagation and adds handlers to
    the ``ppgan_app`` logger. Every test starts and ends with the logger as importing the
    package leaves it (no handlers, propagating, level unset), so ``caplog`` sees its records
    even after a session fixture ran a command line."""
    package = logging.getLogger("ppgan_app")

    def pristine() -> None:
        for handler in package.handlers[:]:
            package.removeHandler(handler)
            handler.close()
        package.propagate, package.level = True, logging.NOTSET

    pristine()
    yield
    pristine()


@pytest.fixture(autouse=True)
def _openvino_only_in_its_own_tests(request, monkeypatch):
    """In this one pytest process, ``--engine auto`` takes the fast engine except in the tests
    marked ``openvino`` (which run last). The suite forks Paddle DataLoader workers and signals
    its own process after the app tests; with OpenVINO's threads already running, a full run
    died once of SIGSEGV there (exit 139) once ``auto`` meant OpenVINO in-process too. Users'
    processes and every subprocess of the suite (CLIs, the web server) keep the real default,
    OpenVINO, which ``tests/inference/test_openvino_engine.py`` checks."""
    if request.node.get_closest_marker("openvino") is None:
        from ppgan_app.inference import engines

        monkeypatch.setattr(engines, "CPU_ENGINE_ORDER", ("fast", "openvino", "dygraph"))


@pytest.fixture(autouse=True)
def _default_sigchld():
    """Every test starts and ends with SIGCHLD's default handling. A Paddle DataLoader with
    workers installs a process-wide SIGCHLD handler that checks its workers whenever any child
    exits; left in place, it kills the suite's process with SIGSEGV when OpenVINO runs later
    (docs/performance.md). Paddle installs it again the next time it starts workers."""
    import signal
    import sys

    def restore() -> None:
        if signal.getsignal(signal.SIGCHLD) is not signal.SIG_DFL:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            for name in ("paddle.io.multiprocess_utils", "paddle.base.multiprocess_utils"):
                module = sys.modules.get(name)
                if module is not None and hasattr(module, "_SIGCHLD_handler_set"):
                    module._SIGCHLD_handler_set = False

    restore()
    yield
    restore()


@pytest.fixture(scope="session")
def sr_pictures(tmp_path_factory) -> Path:
    """Four small RGB pictures (crops of scikit-image's samples, ~100 px) for the SR tests."""
    import cv2
    import numpy as np
    from skimage import data

    folder = tmp_path_factory.mktemp("sr_pictures")
    gray = np.dstack([data.camera()] * 3)
    crops = {"astronaut": data.astronaut()[20:116, 150:262], "coffee": data.coffee()[100:196, 200:300],
             "chelsea": data.chelsea()[50:146, 150:262], "camera": gray[100:196, 200:288]}
    for name, img in crops.items():
        cv2.imwrite(str(folder / f"{name}.png"), cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2BGR))
    return folder


@pytest.fixture(scope="session")
def tiny_sr_run(tmp_path_factory, sr_pictures) -> Path:
    """The run folder of configs/sr_tiny_x4.yaml trained 4 iterations on ``sr_pictures``."""
    from ppgan_app.cli.train import main

    out = tmp_path_factory.mktemp("sr_run")
    config = Path(__file__).resolve().parents[1] / "configs" / "sr_tiny_x4.yaml"
    code = main(["-c", str(config), "--seed", "1", "-o", f"dataset.train.dataroot={sr_pictures}",
                 f"dataset.test.dataroot={sr_pictures}", f"output_dir={out}"])
    assert code == 0
    return next(out.glob("sr_tiny_x4-*"))
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
