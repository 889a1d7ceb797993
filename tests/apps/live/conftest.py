"""Fixtures of the live-mode tests: a short clip of the bundled portrait moving, as a camera."""
import numpy as np
import pytest


def moving_portrait_clip(path, frames: int = 20, fps: float = 25.0, size: int = 160) -> str:
    """An mp4 of the bundled portrait sliding a few pixels per frame (a face the detectors find)."""
    import cv2

    from ppgan_app.apps.expression_transfer.predictor import read_source_image, sample_paths
    from ppgan_app.media.video import Mp4Writer

    portrait = read_source_image(sample_paths()[0])
    portrait = cv2.resize(portrait, (size, size), interpolation=cv2.INTER_AREA)
    with Mp4Writer(str(path), fps) as writer:
        for i in range(frames):
            shift = np.float32([[1, 0, 3 * np.sin(i / 3.0)], [0, 1, 2 * np.cos(i / 4.0)]])
            writer.write(cv2.warpAffine(portrait, shift, (size, size),
                                        borderMode=cv2.BORDER_REFLECT))
        writer.finish()
    return str(path)


@pytest.fixture(scope="session")
def camera_clip(tmp_path_factory) -> str:
    return moving_portrait_clip(tmp_path_factory.mktemp("live") / "camera.mp4")


@pytest.fixture(scope="session")
def long_camera_clip(tmp_path_factory) -> str:
    """Three seconds: enough frames out for tests that act mid-run, even on a loaded machine."""
    return moving_portrait_clip(tmp_path_factory.mktemp("live") / "camera_3s.mp4", frames=75)
