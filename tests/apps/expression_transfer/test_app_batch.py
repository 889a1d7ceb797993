"""Many portraits, one driving video: one result each, one decode, failures skipped."""
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from ppgan_app.apps import FirstOrderPredictor
from ppgan_app.errors import InputError
from ppgan_app.apps.expression_transfer.motion import DrivingMotion
from ppgan_app.apps.expression_transfer.batch import batch_names, list_portraits
from ppgan_app.media.video import VideoReader

from app_helpers import FakeAnimator, ffprobe


def frames_of(path):
    return np.stack(list(VideoReader(path)))


@pytest.fixture
def portraits(tmp_path, media):
    folder = tmp_path / "portraits"
    folder.mkdir()
    shutil.copy(media["portrait"], folder / "anna.png")
    Image.fromarray(np.asarray(Image.open(media["portrait"]))[:, ::-1]).save(folder / "ben.jpg")
    Image.fromarray(np.full((200, 200, 3), 128, np.uint8)).save(folder / "wall.png")  # no face
    (folder / "notes.txt").write_text("not a portrait")
    return folder


@pytest.fixture
def count_decodes(monkeypatch):
    """Counts full passes over any driving video (VideoReader iterations)."""
    calls = []
    original = VideoReader.__iter__

    def counted(self):
        calls.append(self.path)
        return original(self)

    monkeypatch.setattr(VideoReader, "__iter__", counted)
    return calls


def test_a_folder_gives_one_result_per_portrait_with_one_decode(tmp_path, portraits, media,
                                                                 count_decodes):
    animator = FakeAnimator()
    pred = FirstOrderPredictor(output=str(tmp_path / "out"), relative=True, progress=False,
                               crop_driving="off", animator=animator)
    summary = pred.run_batch(str(portraits), media["clip_audio"])

    assert [os.path.basename(r.source) for r in summary.results] == ["anna.png", "ben.jpg",
                                                                      "wall.png"]
    anna, ben, wall = summary.results
    assert anna.ok and ben.ok and not wall.ok and not summary.ok
    assert "no face found" in wall.error and wall.path is None
    assert sorted(os.listdir(tmp_path / "out")) == ["anna.mp4", "ben.mp4"]
    assert summary.paths == [str(tmp_path / "out" / "anna.mp4"), str(tmp_path / "out" / "ben.mp4")]
    for result in (anna, ben):
        assert result.frames == 12 and result.faces == 1 and result.audio
        assert ffprobe(result.path) == {"codec": "h264", "fps": 10.0, "audio": True}
    # the driving video was decoded once, its 12 frames' keypoints computed once (batch 1),
    # plus one keypoint call per portrait face
    assert count_decodes == [media["clip_audio"]]
    assert animator.keypoint_calls == 12 + 2
    table = summary.table()
    assert "FAILED: no face found" in table and "2 of 3 portrait(s) animated" in table


def test_each_batch_result_equals_a_single_run(tmp_path, portraits, media):
    options = dict(relative=True, progress=False, batch_size=3, slice_size=5, smooth=True)
    batch = FirstOrderPredictor(output=str(tmp_path / "batch"), animator=FakeAnimator(),
                                **options).run_batch([str(portraits / "anna.png"),
                                                      str(portraits / "ben.jpg")], media["clip"])
    for result in batch.results:
        single = FirstOrderPredictor(output=str(tmp_path / "one"), animator=FakeAnimator(),
                                     **options).run(result.source, media["clip"])
        assert np.array_equal(frames_of(result.path), frames_of(single))


def test_best_frame_is_taken_from_the_shared_keypoints(tmp_path, portraits, media):
    options = dict(relative=True, progress=False, best_frame=7, crop_driving="off")
    batch = FirstOrderPredictor(output=str(tmp_path / "batch"), animator=FakeAnimator(),
                                **options).run_batch([str(portraits / "anna.png")], media["clip"])
    single = FirstOrderPredictor(output=str(tmp_path / "one"), animator=FakeAnimator(),
                                 **options).run(str(portraits / "anna.png"), media["clip"])
    out = frames_of(batch.paths[0])
    assert np.array_equal(out, frames_of(single))
    base = FirstOrderPredictor(output=str(tmp_path / "zero"), animator=FakeAnimator(),
                               relative=True, progress=False, crop_driving="off").run(
        str(portraits / "anna.png"), media["clip"])
    assert not np.array_equal(out, frames_of(base))  # the reference frame did change


def test_run_with_a_list_returns_the_written_paths(tmp_path, portraits, media):
    pred = FirstOrderPredictor(output=str(tmp_path / "out"), relative=True, progress=False,
                               animator=FakeAnimator())
    paths = pred.run([str(portraits / "wall.png"), str(portraits / "anna.png")], media["clip"])
    assert paths == [str(tmp_path / "out" / "anna.mp4")]


def test_a_bad_driving_video_stops_the_whole_batch_before_any_portrait(tmp_path, portraits,
                                                                       count_decodes):
    pred = FirstOrderPredictor(output=str(tmp_path / "out"), progress=False,
                               animator=FakeAnimator())
    with pytest.raises(InputError, match="driving video not found"):
        pred.run_batch(str(portraits), str(tmp_path / "missing.mp4"))
    assert count_decodes == [] and not (tmp_path / "out").exists()  # no folder made either


def test_all_portraits_failing_never_decodes_the_video(tmp_path, portraits, media,
                                                      count_decodes):
    animator = FakeAnimator()
    summary = FirstOrderPredictor(output=str(tmp_path / "out"), progress=False,
                                  animator=animator).run_batch([str(portraits / "wall.png")],
                                                               media["clip"])
    assert not summary.ok and summary.paths == [] and animator.keypoint_calls == 0
    assert count_decodes == []


def test_list_portraits_expands_folders_and_refuses_what_is_missing(tmp_path, portraits):
    assert [os.path.basename(p) for p in list_portraits(str(portraits))] == [
        "anna.png", "ben.jpg", "wall.png"]
    anna = str(portraits / "anna.png")
    assert list_portraits([anna, anna]) == [anna]
    with pytest.raises(InputError, match="source image not found"):
        list_portraits([anna, str(tmp_path / "nobody.jpg")])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="holds no image"):
        list_portraits(str(empty))
    with pytest.raises(InputError, match="names no portrait"):
        list_portraits([])


def test_batch_names_never_collide():
    assert batch_names(["a/anna.jpg", "b/ben.png"]) == ["anna.mp4", "ben.mp4"]
    assert batch_names(["a/anna.jpg", "a/anna.png", "b/anna.jpg"]) == [
        "anna_jpg.mp4", "anna_png.mp4", "anna_jpg_2.mp4"]


def test_driving_keypoints_are_sliced_per_frame_for_the_reference():
    motion = DrivingMotion(
        path="d.mp4", fps=10.0, frames=5, batches=[], counts=[3, 2], landmarks=None,
        raw=[{"value": np.arange(3)[:, None]}, {"value": np.arange(3, 5)[:, None]}],
        has_audio=False)
    assert motion.reference(4)["value"].tolist() == [[4]]
    assert motion.reference(1)["value"].tolist() == [[1]]


def test_a_still_driving_picture_gives_each_portrait_a_picture(tmp_path, portraits, media):
    still = tmp_path / "smile.png"
    Image.fromarray(next(iter(VideoReader(media["clip"])))).save(still)
    summary = FirstOrderPredictor(output=str(tmp_path / "out"), progress=False, relative=True,
                                  animator=FakeAnimator()).run_batch(str(portraits), str(still))
    assert sorted(os.listdir(tmp_path / "out")) == ["anna.png", "ben.png"]
    assert [r.frames for r in summary.results if r.ok] == [1, 1]
    anna = np.asarray(Image.open(tmp_path / "out" / "anna.png"))
    source = np.asarray(Image.open(portraits / "anna.png").convert("RGB"))
    assert anna.shape == source.shape and np.abs(anna.astype(int) - source).max() > 20
    # the output folder is the portraits folder: anna.png would be overwritten, so refused
    with pytest.raises(InputError, match="would overwrite an input"):
        FirstOrderPredictor(output=str(portraits), progress=False,
                            animator=FakeAnimator()).run_batch(str(portraits), str(still))
