"""Atomic result files, destination checks, stale-temp cleanup and the CLI error handler."""
import errno
import os
import subprocess
import sys

import pytest

from ppgan_app.cli.common import run_cli
from ppgan_app.errors import (EXIT_DIVERGED, EXIT_FAULT, EXIT_SIGINT, EXIT_SIGTERM, EXIT_USAGE,
                              ConfigError, InputError, OutputError, Terminated,
                              TrainingDivergedError)
from ppgan_app.utils.safe_files import (atomic_output, check_destination, clean_stale_temps,
                                        temp_path)


def test_atomic_output_publishes_only_on_success(tmp_path):
    final = tmp_path / "result.txt"
    final.write_text("good")
    with pytest.raises(RuntimeError):
        with atomic_output(final) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert final.read_text() == "good" and os.listdir(tmp_path) == ["result.txt"]
    with atomic_output(final) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".result.txt.")
        assert tmp.suffix == ".txt"
        tmp.write_text("new")
    assert final.read_text() == "new" and os.listdir(tmp_path) == ["result.txt"]


@pytest.mark.parametrize("signal_exc", [KeyboardInterrupt, Terminated])
def test_atomic_output_cleans_up_on_interrupts(tmp_path, signal_exc):
    final = tmp_path / "r.bin"
    with pytest.raises(signal_exc):
        with atomic_output(final) as tmp:
            tmp.write_bytes(b"x")
            raise signal_exc()
    assert os.listdir(tmp_path) == []


def test_disk_full_inside_atomic_output_is_named(tmp_path):
    final = tmp_path / "r.bin"
    with pytest.raises(OutputError, match=f"no space left on device at {final}"):
        with atomic_output(final):
            raise OSError(errno.ENOSPC, "No space left on device")
    assert os.listdir(tmp_path) == []


def test_check_destination(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(InputError, match="is a folder"):
        check_destination(tmp_path / "taken")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="cannot create folder"):
        check_destination(blocker / "sub" / "r.mp4")
    assert check_destination(tmp_path / "new" / "r.mp4") == tmp_path / "new" / "r.mp4"
    assert os.listdir(tmp_path / "new") == []  # the probe is gone


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_check_destination_read_only(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(InputError, match="cannot write to folder"):
            check_destination(folder / "r.mp4")
    finally:
        folder.chmod(0o700)


def test_clean_stale_temps_spares_live_writers(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    final = tmp_path / "r.mp4"
    stale = tmp_path / f".r.mp4.{dead.pid}-0123abcd.video.mp4"
    mine = temp_path(final, "video")
    unrelated = tmp_path / ".r.mp4.notes"
    for path in (stale, mine, unrelated):
        path.write_text("x")
    assert clean_stale_temps(final) == [stale]
    assert mine.exists() and unrelated.exists() and not stale.exists()


@pytest.mark.parametrize("exc,code,line", [
    (ConfigError("total_iters: 'abc' is not an integer"), EXIT_USAGE,
     "error: total_iters: 'abc' is not an integer"),
    (OutputError("no space left on device at x"), EXIT_FAULT, "error: no space left on device at x"),
    (TrainingDivergedError("loss is nan at iteration 3"), EXIT_DIVERGED,
     "error: loss is nan at iteration 3"),
    (KeyboardInterrupt(), EXIT_SIGINT, "interrupted (Ctrl-C): partial outputs removed"),
    (Terminated(), EXIT_SIGTERM, "terminated (SIGTERM): partial outputs removed"),
    (OSError(errno.ENOSPC, "No space left on device", "/x/y"), EXIT_FAULT,
     "error: no space left on device at /x/y; free some space and run again"),
    (ZeroDivisionError("bug\nsecond line"), EXIT_FAULT,
     "internal error: ZeroDivisionError: bug second line (please report it; set "
     "PPGAN_APP_DEBUG=1 for the traceback)"),
])
def test_run_cli_maps_every_failure_to_one_line(capsys, monkeypatch, exc, code, line):
    monkeypatch.delenv("PPGAN_APP_DEBUG", raising=False)

    def body():
        raise exc

    assert run_cli(body) == code
    assert capsys.readouterr().err.splitlines() == [line]


def test_run_log_on_a_full_disk_warns_once_and_goes_on(tmp_path, capsys, caplog):
    import logging

    from ppgan_app.utils.logger import add_file_handler, setup_logger

    log = setup_logger("ppgan_app.test_full_log")
    handler = add_file_handler(tmp_path / "train.log", name="ppgan_app.test_full_log")

    class FullDisk:
        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

        def flush(self):
            pass

        def close(self):
            pass

    handler.stream = FullDisk()
    try:
        for i in range(3):
            log.info("iteration %d", i)
    finally:
        log.removeHandler(handler)
        handler.close()
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Logging error" not in err
    assert caplog.text.count("log file disabled: no space left on device at") == 1
    assert err.count("iteration") == 3  # the console still gets every record
    logging.getLogger("ppgan_app.test_full_log").handlers.clear()


def test_a_full_disk_at_the_destination_check_exits_1_like_everywhere(tmp_path, capsys, monkeypatch):
    from ppgan_app.utils import safe_files

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safe_files, "open", full, raising=False)  # the probe write
    assert run_cli(lambda: check_destination(tmp_path / "out.mp4") and 0) == EXIT_FAULT
    assert capsys.readouterr().err.strip() == (f"error: no space left on device at {tmp_path}; "
                                               "free some space and run again")
