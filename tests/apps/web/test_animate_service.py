"""The Animate tab's service without a browser: inputs checked when chosen, a job on the bundled
sample with options by name, cancel, and the errors a job gives in the page's words."""
import numpy as np
import pytest
from PIL import Image

from ppgan_app.apps.expression_transfer.predictor import sample_paths
from ppgan_app.apps.web.animate_tab import AnimateService, Cancelled, check_driving_video
from ppgan_app.apps.web.temp_root import make_root
from ppgan_app.apps.expression_transfer.options import TransferOptions
from ppgan_app.errors import InputError

from app_helpers import FakeAnimator


@pytest.fixture
def service(tmp_path):
    return AnimateService(TransferOptions(relative=True), make_root(str(tmp_path)),
                          animator=FakeAnimator(64))


def test_a_portrait_without_a_face_is_reported_when_chosen(service, tmp_path):
    blank = tmp_path / "wall.png"
    Image.fromarray(np.full((120, 160, 3), 200, np.uint8)).save(blank)
    status, preview = service.portrait_status(str(blank), "yunet", False)
    assert status.startswith("error: no face found in the source image; try another "
                             "“Face detector”") and "“Animate without a face”" in status
    assert preview is None
    status, preview = service.portrait_status(str(blank), "yunet", True)
    assert status.startswith("warning: no face found (160x120)") and preview.shape == (120, 160, 3)
    status, _ = service.portrait_status(sample_paths()[0], "yunet", False)
    assert status == "ready: 1 face(s) found (512x512)"


def test_the_driving_input_is_checked_when_chosen(service, media, tmp_path):
    assert service.driving_status(media["clip_audio"]) == \
        ("ready: 12 frames, 1.2 s at 10 fps, with sound", media["clip_audio"], None)
    # a still picture is a driving input (the result is a picture), previewed as one
    assert service.driving_status(sample_paths()[0]) == \
        ("ready: a still picture (512x512): the portrait takes its expression; the result is "
         "a picture (PNG)", None, sample_paths()[0])
    assert check_driving_video(media["portrait"])["still"]
    notes = tmp_path / "notes.mp4"
    notes.write_text("not a video")
    status, video, picture = service.driving_status(str(notes))
    assert status.startswith("error: ") and "notes.mp4" in status and video is picture is None
    with pytest.raises(InputError):
        check_driving_video(str(notes))


def test_a_still_picture_job_writes_the_portrait_as_a_png(service):
    portrait = sample_paths()[0]
    path = service.run(portrait, portrait, {})
    assert path.endswith("result.png") and service.last_result("") == path
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (512, 512)


def test_a_job_runs_with_options_by_name_and_reports_frames(service):
    seen = []
    path = service.run(*sample_paths(), {"adapt_scale": True, "batch_size": 4.0},
                       progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert path.endswith("result.mp4") and "/jobs/" in path
    assert ("animating", 100, 100) in seen and seen[0][0] == "waiting"


def test_missing_inputs_never_fall_back_to_the_sample(service):
    with pytest.raises(InputError, match="choose a portrait first"):
        service.run(None, sample_paths()[1], {})
    with pytest.raises(InputError, match="choose a driving video or picture first"):
        service.run(sample_paths()[0], None, {})


def test_cancel_stops_a_running_job_at_its_next_batch(service):
    def cancel_midway(stage, done, total):
        if stage == "animating" and done >= 16:
            service.cancel("tab-1")

    with pytest.raises(Cancelled):
        service.run(*sample_paths(), {}, session="tab-1", progress=cancel_midway)
    assert not list(service.root.glob("jobs/*/*"))  # no result, no temp file left


def test_a_super_resolution_job_builds_the_sr_network_once(tmp_path, tiny_sr_run, media):
    weights = str(next(tiny_sr_run.glob("iter_0000004_checkpoint.pdparams")))
    service = AnimateService(TransferOptions(relative=True, super_resolution_weights=weights),
                             make_root(str(tmp_path)), animator=FakeAnimator(64))
    assert "super_resolution" not in service.unavailable and not service._upscalers
    inputs = (sample_paths()[0], media["clip_audio"])
    assert service.run(*inputs, {"super_resolution": "x4"}).endswith("result.mp4")
    upscaler = service._upscalers["x4"]
    assert upscaler.factor == 4
    service.run(*inputs, {"super_resolution": "x4"})
    assert service._upscalers == {"x4": upscaler}  # the second job used the same network
