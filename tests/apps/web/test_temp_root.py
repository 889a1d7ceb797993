"""The server's temp folder: folders of dead servers are removed at start, live ones kept,
and only the last few job folders are kept."""
import os
import subprocess
import sys

from ppgan_app.apps.web import temp_root


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_folders_of_dead_servers_are_removed_at_start(tmp_path):
    dead = tmp_path / f"ppgan-app-{dead_pid()}-0123abcd"
    (dead / "gradio").mkdir(parents=True)
    alive = tmp_path / f"ppgan-app-{os.getppid()}-89abcdef"
    alive.mkdir()
    other = tmp_path / "ppgan-app-notes"
    other.mkdir()
    root = temp_root.make_root(str(tmp_path))
    assert not dead.exists() and alive.exists() and other.exists()
    assert (root / "gradio").is_dir() and (root / "jobs").is_dir()
    assert root.name.startswith(f"ppgan-app-{os.getpid()}-")


def test_only_the_last_jobs_are_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(temp_root, "KEEP_JOBS", 3)
    root = temp_root.make_root(str(tmp_path))
    folders = []
    for i in range(5):
        folders.append(temp_root.new_job_folder(root))
        os.utime(folders[-1], (i, i))  # distinct ages
    assert sorted(p.name for p in (root / "jobs").iterdir()) == \
        sorted(p.name for p in folders[-3:])
