"""An unreadable video in a data set: one line with ffmpeg's reason, never its banner."""
from pathlib import Path

import pytest

from ppgan_app.datasets.video_frames import count_video_frames, ffmpeg_reason, iter_video_frames
from ppgan_app.errors import InputError

BANNER_DUMP = """Could not load meta information
=== stderr ===

ffmpeg version n9.0.2 Copyright (c) 2000-2026 the FFmpeg developers
  built with gcc 16.2.0
  configuration: --enable-gpl --enable-libx264
  libavutil      60.  8.100 / 60.  8.100
Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'audio.m4a':
  Duration: 00:00:01.00, start: 0.000000, bitrate: 79 kb/s
  Stream #0:0[0x1](und): Audio: aac (LC), 44100 Hz, mono, fltp, 70 kb/s (default)
Output #0, image2pipe, to 'pipe:':
[out#0/image2pipe @ 0x561dfbc53b40] Output file does not contain any stream
Error opening output file -.
Error opening output files: Invalid argument"""


def test_the_reason_is_the_last_component_message():
    assert ffmpeg_reason(BANNER_DUMP) == "Output file does not contain any stream"
    untagged = BANNER_DUMP.replace("[out#0/image2pipe @ 0x561dfbc53b40] ", "XX ")
    assert ffmpeg_reason(untagged) == "Error opening output files: Invalid argument"
    assert ffmpeg_reason("plain message\nsecond line") == "plain message"


@pytest.mark.parametrize("read", [count_video_frames, lambda p: list(iter_video_frames(p))])
def test_a_file_that_is_not_a_video_is_one_line(tmp_path, read):
    bad = tmp_path / "clip.mp4"
    bad.write_text("not a video")
    with pytest.raises(InputError) as info:
        read(Path(bad))
    message = str(info.value)
    assert message.startswith(f"cannot read video {bad}: ") and "\n" not in message
    assert "ffmpeg version" not in message and "Invalid data found" in message
