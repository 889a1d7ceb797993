"""Streaming reader, H.264 writer with atomic rename, audio mux (checked with bundled ffmpeg)."""
import os

import numpy as np
import pytest

from app_helpers import ffprobe

from ppgan_app.errors import InputError
from ppgan_app.media.video import Mp4Writer, VideoReader, iter_chunks, probe_streams


def test_clip_roundtrip_keeps_frames_fps_and_codec(media):
    reader = VideoReader(media["clip"])
    assert reader.meta.fps == 10.0 and reader.meta.size == (48, 40)
    frames = list(reader)
    assert len(frames) == 12 and frames[0].shape == (40, 48, 3) and frames[0].dtype == np.uint8
    assert abs(int(frames[5][..., 0].mean()) - (40 + 12 * 5)) <= 3
    info = ffprobe(media["clip"])
    assert info == {"codec": "h264", "fps": 10.0, "audio": False}
    assert ffprobe(media["clip_audio"])["audio"] is True
    assert probe_streams(media["clip_audio"]).has_audio


def test_chunks_cover_every_frame_in_order():
    chunks = list(iter_chunks((np.full((2, 2, 3), i, np.uint8) for i in range(10)), 4))
    assert [len(c) for c in chunks] == [4, 4, 2]
    assert [int(f[0, 0, 0]) for c in chunks for f in c] == list(range(10))


def test_odd_sizes_are_padded_and_failures_leave_nothing(tmp_path):
    out = tmp_path / "odd.mp4"
    with Mp4Writer(str(out), 5) as writer:
        for _ in range(3):
            writer.write(np.zeros((31, 33, 3), np.uint8))
        writer.finish()
    assert VideoReader(str(out)).meta.size == (34, 32)
    failed = tmp_path / "failed.mp4"
    with pytest.raises(RuntimeError):
        with Mp4Writer(str(failed), 5) as writer:
            writer.write(np.zeros((32, 32, 3), np.uint8))
            raise RuntimeError("boom")
    assert sorted(os.listdir(tmp_path)) == ["odd.mp4"]


def test_bad_videos_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        VideoReader(str(tmp_path / "missing.mp4"))
    fake = tmp_path / "fake.mp4"
    fake.write_text("not a video")
    with pytest.raises(InputError, match="cannot read"):
        VideoReader(str(fake))


def test_short_sound_track_keeps_every_frame(tmp_path):
    from app_helpers import write_wav

    wav = write_wav(str(tmp_path / "short.wav"), 0.5)
    out = tmp_path / "muxed.mp4"
    with Mp4Writer(str(out), 10) as writer:
        for i in range(20):  # 2 s of video, 0.5 s of sound
            writer.write(np.full((16, 16, 3), 10 * i, np.uint8))
        writer.finish(audio_source=wav)
    assert ffprobe(str(out))["audio"] is True
    assert len(list(VideoReader(str(out)))) == 20
