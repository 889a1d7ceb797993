"""applications/tools/first-order-live.py: the front end runs, its flags come from LiveOptions."""
import dataclasses
import os
import subprocess
import sys
from pathlib import Path

from ppgan_app.apps.live.options import LiveOptions
from ppgan_app.cli.live import build_parser

REPO = Path(__file__).resolve().parents[2]


def test_every_live_option_is_a_flag_and_unset_flags_fall_through():
    args = build_parser().parse_args(["--camera", "clip.mp4", "--precision", "bf16"])
    assert vars(args) == {"camera": "clip.mp4", "precision": "bf16"}
    options = LiveOptions.from_kwargs(**vars(args))
    assert options.mobile_net and options.threads == 1 and options.engine == "auto"
    flags = build_parser().format_help()
    for f in dataclasses.fields(LiveOptions):
        assert f"--{f.name}" in flags


def test_front_end_help_and_a_bad_value():
    script = REPO / "applications" / "tools" / "first-order-live.py"
    env = {**os.environ, "PYTHONPATH": str(REPO)}           # this checkout's ppgan_app
    ok = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True,
                        timeout=120, env=env)
    assert ok.returncode == 0 and "--camera" in ok.stdout and "--window" in ok.stdout
    bad = subprocess.run([sys.executable, str(script), "--redetect_every", "0"],
                         capture_output=True, text=True, timeout=120, env=env)
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == [
        "error: --redetect_every must be > 0, got 0"]
