"""The expression-transfer pipeline with a fake animator: outputs, streaming, batching, audio,
reference frames, multi-person and every bad input."""
import itertools
import logging
import os
import subprocess

import numpy as np
import pytest
from PIL import Image

from ppgan_app.apps import FirstOrderPredictor
from ppgan_app.errors import InputError
from ppgan_app.apps.expression_transfer.predictor import (DrivingPrep, find_best_frame,
                                                  read_source_image,
                                                  render_chunk, sample_paths)
from ppgan_app.media.video import VideoReader

from app_helpers import ffprobe


def predictor(tmp_path, animator, **kwargs):
    kwargs.setdefault("relative", True)
    return FirstOrderPredictor(output=str(tmp_path / "out"), animator=animator, progress=False,
                               **kwargs)


def frames_of(path):
    return np.stack(list(VideoReader(path)))


def test_notebook_api_returns_the_output_path(tmp_path, media, fake_animator):
    out = FirstOrderPredictor(relative=True, adapt_scale=True, output=str(tmp_path / "out"),
                              animator=fake_animator, progress=False).run(media["portrait"],
                                                                          media["clip"])
    assert out == str(tmp_path / "out" / "result.mp4") and os.path.isfile(out)
    reader = VideoReader(out)
    assert reader.meta.fps == 10.0 and reader.meta.size == (512, 512)
    assert len(list(reader)) == 12
    assert ffprobe(out) == {"codec": "h264", "fps": 10.0, "audio": False}
    assert sorted(os.listdir(tmp_path / "out")) == ["result.mp4"]  # no temp files left


def test_face_moves_and_background_stays(tmp_path, media, fake_animator):
    out = frames_of(predictor(tmp_path, fake_animator).run(media["portrait"], media["clip"]))
    source = read_source_image(media["portrait"]).astype(float)
    face = (slice(100, 150), slice(200, 245))
    corner = (slice(0, 30), slice(0, 30))

    def shift(frame, region):
        return np.abs(frame[region].mean(axis=(0, 1)) - source[region].mean(axis=(0, 1))).max()

    assert shift(out[0], face) < 4  # the reference frame: no motion (only resampling blur)
    assert shift(out[-1], face) > 30  # the fake motion shows in the face
    assert np.abs(out[-1][corner] - source[corner]).mean() < 3  # outside: untouched


def test_batch_4_equals_batch_1(tmp_path, media, fake_animator):
    one = predictor(tmp_path / "b1", fake_animator, batch_size=1).run(media["portrait"],
                                                                      media["clip"])
    four = predictor(tmp_path / "b4", fake_animator, batch_size=4, slice_size=5).run(
        media["portrait"], media["clip"])
    assert np.array_equal(frames_of(one), frames_of(four))


def test_render_chunk_batches_in_order(fake_animator):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (7, 64, 64, 3), dtype=np.uint8)
    source = rng.random((1, 3, 64, 64), dtype=np.float32)
    kp_s = fake_animator.keypoints(source)
    kp_0 = fake_animator.keypoints(frames[:1].transpose(0, 3, 1, 2).astype(np.float32) / 255)
    outs = [render_chunk(fake_animator, frames, [source], [kp_s], kp_0, b, True, False)[0]
            for b in (1, 3, 4, 7)]
    for out in outs[1:]:
        assert np.array_equal(out, outs[0])


def test_audio_kept_dropped_and_absent(tmp_path, media, fake_animator):
    with_audio = predictor(tmp_path / "a", fake_animator).run(media["portrait"],
                                                              media["clip_audio"])
    assert ffprobe(with_audio)["audio"] is True
    assert len(frames_of(with_audio)) == 12
    no_audio = predictor(tmp_path / "b", fake_animator, audio=False).run(media["portrait"],
                                                                         media["clip_audio"])
    assert ffprobe(no_audio)["audio"] is False
    silent = predictor(tmp_path / "c", fake_animator).run(media["portrait"], media["clip"])
    assert ffprobe(silent)["audio"] is False


def test_best_frame_sets_the_reference(tmp_path, media, fake_animator):
    out = frames_of(predictor(tmp_path, fake_animator, best_frame=6).run(media["portrait"],
                                                                         media["clip"]))
    face = (slice(100, 150), slice(200, 245))
    diffs = [np.abs(f[face].astype(float) - out[6][face]).mean() for f in out]
    assert int(np.argmin(diffs[:6] + [np.inf] + diffs[7:])) in (5, 7)  # neighbours closest
    assert len(out) == 12
    with pytest.raises(InputError, match="past the end"):
        predictor(tmp_path / "x", fake_animator, best_frame=50).run(media["portrait"],
                                                                    media["clip"])
    assert not os.path.exists(tmp_path / "x" / "out" / "result.mp4")


def test_find_best_frame_uses_landmark_pose_distance():
    base = np.random.default_rng(1).random((68, 2)) * 50

    def landmarker(image):
        value = float(image.mean())
        if value < 20:
            return None  # a frame without a face does not crash anything
        return base + 0.1 * abs(value - 100) * np.sin(np.arange(136)).reshape(68, 2)

    source = np.full((64, 64, 3), 100, np.uint8)
    frames = [np.full((32, 32, 3), v, np.uint8) for v in (10, 160, 120, 98, 60)]
    assert find_best_frame(source, frames, DrivingPrep(64), landmarker) == 3


def test_find_best_frame_with_dlib_landmarks():
    import itertools

    from ppgan_app.faces.crop import crop_resize, face_crop_boxes
    from ppgan_app.faces.detectors import build_face_detector
    from ppgan_app.faces.landmarks import DlibLandmarker, find_shape_predictor

    if find_shape_predictor() is None:
        pytest.skip("dlib's 68-point landmark model is not installed")
    source, driving = sample_paths()
    image = read_source_image(source)
    box = face_crop_boxes(build_face_detector("dlib")(image), image.shape[:2])[0]
    face = crop_resize(image, box, 256)
    landmarker = DlibLandmarker()
    assert landmarker(face).shape == (68, 2)
    frames = itertools.islice(VideoReader(driving), 8)
    assert 0 <= find_best_frame(face, frames, DrivingPrep(256), landmarker) < 8


def test_find_best_frame_works_without_dlibs_model(tmp_path, media, fake_animator,
                                                  monkeypatch, caplog):
    import ppgan_app.faces.landmarks as landmarks

    monkeypatch.setattr(landmarks, "find_shape_predictor", lambda: None)
    caplog.set_level(logging.INFO, logger="ppgan_app")
    source, driving = sample_paths()
    out = predictor(tmp_path, fake_animator, find_best_frame=True).run(source, driving)
    assert os.path.isfile(out)
    (line,) = [r.getMessage() for r in caplog.records
               if r.getMessage().startswith("reference driving frame")]
    assert "--find_best_frame" in line


def black_then_faces(path, black=5, faces=7):
    """A clip opening on ``black`` black frames, then the bundled driving clip's first frames."""
    from ppgan_app.media.video import Mp4Writer

    frames = list(itertools.islice(VideoReader(sample_paths()[1]), faces))
    with Mp4Writer(path, 10.0) as writer:
        for frame in [np.zeros_like(frames[0])] * black + frames:
            writer.write(frame)
        writer.finish()
    return path


def test_relative_motion_is_measured_from_the_first_frame_with_a_face(tmp_path, media,
                                                                      fake_animator, caplog):
    clip = black_then_faces(str(tmp_path / "black_start.mp4"))
    caplog.set_level(logging.INFO, logger="ppgan_app")
    out = frames_of(predictor(tmp_path, fake_animator).run(media["portrait"], clip))
    assert "reference driving frame: 5 (the first with a face; frames 0-4 show none)" in \
        caplog.messages
    source = read_source_image(media["portrait"]).astype(float)
    face = (slice(100, 150), slice(200, 245))
    shifts = [np.abs(f[face].mean(axis=(0, 1)) - source[face].mean(axis=(0, 1))).max()
              for f in out]
    assert shifts[5] < 4 and shifts[0] > 30  # no motion at the reference; black frames move


def test_a_faceless_clip_says_frame_0(tmp_path, media, fake_animator, caplog):
    caplog.set_level(logging.INFO, logger="ppgan_app")
    predictor(tmp_path, fake_animator).run(media["portrait"], media["clip"])
    assert "no face found in the first 12 driving frames; measuring motion from frame 0" in \
        caplog.messages
    caplog.clear()  # absolute motion has no reference frame: nothing searched, nothing said
    predictor(tmp_path / "abs", fake_animator, relative=False).run(media["portrait"],
                                                                   media["clip"])
    assert not [m for m in caplog.messages if "reference" in m or "first 12" in m]


def test_crop_driving_runs_end_to_end(tmp_path, media, fake_animator):
    out = predictor(tmp_path, fake_animator, crop_driving="on").run(media["portrait"],
                                                                    media["clip"])
    assert len(frames_of(out)) == 12  # no face in the clip: whole frames, no crash


def test_multi_person(tmp_path, fake_animator):
    from skimage import data

    two = np.concatenate([data.astronaut(), data.astronaut()[:, ::-1]], axis=1)
    path = str(tmp_path / "two.png")
    Image.fromarray(two).save(path)
    _, driving = sample_paths()
    single = predictor(tmp_path / "one", fake_animator).run_with_summary(path, driving)
    multi = predictor(tmp_path / "all", fake_animator, multi_person=True).run_with_summary(
        path, driving)
    assert (single.faces, multi.faces) == (1, 2)
    assert multi.frames == 100 and multi.fps == 25 and multi.audio


def test_source_formats(tmp_path):
    from skimage import data

    rgb = data.astronaut()
    Image.fromarray(rgb[:, :, 0]).save(tmp_path / "grey.png")
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    img = Image.fromarray(rgb[:200])  # 512 wide, 200 tall
    exif = img.getexif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    img.save(tmp_path / "rotated.jpg", exif=exif)
    assert read_source_image(str(tmp_path / "grey.png")).shape == (512, 512, 3)
    assert np.array_equal(read_source_image(str(tmp_path / "rgba.png")), rgb)
    assert read_source_image(str(tmp_path / "rotated.jpg")).shape == (512, 200, 3)


def test_whole_image_when_no_face(tmp_path, media, fake_animator):
    flat = str(tmp_path / "flat.png")
    Image.fromarray(np.full((90, 120, 3), 128, np.uint8)).save(flat)
    with pytest.raises(InputError, match="no face"):
        predictor(tmp_path / "a", fake_animator).run(flat, media["clip"])
    assert not os.path.exists(tmp_path / "a" / "out" / "result.mp4")
    out = predictor(tmp_path / "b", fake_animator, no_face_ok=True).run(flat, media["clip"])
    assert frames_of(out).shape == (12, 90, 120, 3)


def _zero_frame_video(folder):
    import imageio_ffmpeg

    path = str(folder / "zero.mp4")
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi",
                    "-i", "color=c=black:s=32x32:r=10", "-frames:v", "0", "-c:v", "libx264",
                    path], check=False)
    return path


@pytest.mark.parametrize("case", ["missing_source", "unreadable_source", "not_a_video",
                                  "zero_frames", "missing_video", "unwritable_output"])
def test_bad_inputs_fail_cleanly(tmp_path, media, fake_animator, case):
    text = tmp_path / "text.mp4"
    text.write_text("hello")
    source, driving, output = media["portrait"], media["clip"], tmp_path / "out"
    if case == "missing_source":
        source = str(tmp_path / "nope.jpg")
    elif case == "unreadable_source":
        source = str(tmp_path / "text.mp4")
    elif case == "not_a_video":
        driving = str(text)
    elif case == "zero_frames":
        driving = _zero_frame_video(tmp_path)
    elif case == "missing_video":
        driving = str(tmp_path / "nope.mp4")
    elif case == "unwritable_output":
        blocker = tmp_path / "blocker"
        blocker.write_text("a file, not a folder")
        output = blocker / "out"
    pred = FirstOrderPredictor(output=str(output), animator=fake_animator, progress=False)
    with pytest.raises(InputError) as info:
        pred.run(source, driving)
    assert "\n" not in str(info.value)
    assert not os.path.exists(output / "result.mp4")
    if output.is_dir():
        assert os.listdir(output) == []


def test_bad_options_explain_themselves():
    with pytest.raises(InputError, match="batch_size"):
        FirstOrderPredictor(batch_size=0)
