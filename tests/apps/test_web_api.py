"""The web app's JSON API in-process (fake animator): checked uploads, typed one-line errors,
one job at a time, progress, byte ranges, temp files cleaned."""
import json
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image

from ppgan_app.apps.expression_transfer.options import TransferOptions
from ppgan_app.apps.web import jobs as jobs_module
from ppgan_app.apps.web.server import PAGE_OPTIONS, ExpressionApp, make_server, parse_range
from ppgan_app.cli.web import main as web_main

from app_helpers import FakeAnimator, ffprobe


@pytest.fixture
def web(tmp_path):
    """A running app on a free loopback port; yields (base url, app)."""
    apps = []

    def start(**kwargs):
        options = kwargs.pop("options", TransferOptions(relative=True, progress=False))
        app = ExpressionApp(options, animator=FakeAnimator(), temp_parent=str(tmp_path),
                            **kwargs)
        server = make_server(app, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        apps.append((server, app))
        return f"http://127.0.0.1:{server.server_address[1]}", app

    yield start
    for server, app in apps:
        server.shutdown()
        server.server_close()
        app.close()


def call(url, data=None, method=None, headers=None):
    """(status, parsed JSON or bytes, headers) of a request; errors are answers too."""
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            body, status, head = response.read(), response.status, response.headers
    except urllib.error.HTTPError as err:
        body, status, head = err.read(), err.code, err.headers
    if head.get("Content-Type") == "application/json":
        body = json.loads(body)
    return status, body, head


def upload(base, path, kind, name=None):
    name = name or str(path).rsplit("/", 1)[-1]
    with open(path, "rb") as handle:
        return call(f"{base}/api/upload?kind={kind}&name={name}", data=handle.read(),
                    method="POST")


def submit(base, source=None, driving=None, **options):
    body = json.dumps({"source": source, "driving": driving, "options": options}).encode()
    return call(f"{base}/api/jobs", data=body, method="POST",
                headers={"Content-Type": "application/json"})


def wait_done(base, job_id, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = call(f"{base}/api/jobs/{job_id}")[1]
        if status["state"] in ("done", "failed"):
            return status
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


def test_the_page_and_its_options_come_from_transfer_options(web):
    base, _ = web(options=TransferOptions(relative=True, ratio=0.45, progress=False))
    status, page, head = call(base + "/")
    assert status == 200 and head["Content-Type"].startswith("text/html")
    assert b'id="source-file"' in page and b'id="driving-file"' in page
    options = {o["name"]: o for o in call(base + "/api/options")[1]["options"]}
    assert set(options) <= set(PAGE_OPTIONS) and "weight_path" not in options
    assert options["relative"]["default"] is True and options["ratio"]["default"] == 0.45
    assert options["face_detector"]["choices"] == ["sfd", "blazeface", "dlib", "yunet"]
    assert options["ratio"]["help"] == TransferOptions.__dataclass_fields__["ratio"].metadata["help"]


def test_bad_uploads_are_the_clis_one_line_errors_and_leave_no_file(web, tmp_path, media):
    base, app = web(max_upload_mb=0.5)
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    status, body, _ = upload(base, notes, "source", "me.jpg")
    assert status == 400 and body["error"].startswith("error: cannot read source image me.jpg: ")
    assert str(app.jobs.root) not in body["error"]
    status, body, _ = upload(base, notes, "driving", "talk.mp4")
    assert status == 400 and body["error"].startswith("error: cannot read talk.mp4 as a video")
    big = tmp_path / "big.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (600, 600, 3), np.uint8)).save(big)
    status, body, _ = upload(base, big, "source")
    assert status == 413 and "more than this server's limit of 0.5 MB" in body["error"]
    still = tmp_path / "still.png"
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(still)
    status, body, _ = upload(base, still, "driving")
    assert status == 400 and "the driving input is a still picture" in body["error"]
    status, body, _ = upload(base, notes, "audio")
    assert status == 400 and "upload kind 'audio' is not one of: source, driving" in body["error"]
    assert list((app.jobs.root / "uploads").iterdir()) == []


def test_bad_job_requests_are_refused_before_queueing(web, media):
    base, app = web()
    assert submit(base, ratio=7)[1] == {"error": "error: --ratio must be in (0, 2], got 7"}
    assert "cannot be set from the page" in submit(base, weight_path="x.pdparams")[1]["error"]
    assert "is not one of" in submit(base, face_detector="mtcnn")[1]["error"]
    assert "no source upload 'abc'" in submit(base, source="abc")[1]["error"]
    status, body, _ = call(base + "/api/jobs", data=b"{not json", method="POST")
    assert status == 400 and body["error"] == "error: the job request is not JSON"
    assert call(base + "/api/jobs/0123abcd")[0] == 404
    assert list((app.jobs.root / "jobs").iterdir()) == []


def test_a_job_runs_reports_progress_and_serves_its_video(web, media):
    base, app = web()
    source = upload(base, media["portrait"], "source")[1]["id"]
    driving = upload(base, media["clip_audio"], "driving")[1]["id"]
    job_id = submit(base, source, driving, adapt_scale=True)[1]["id"]
    status = wait_done(base, job_id)
    assert status["state"] == "done", status
    assert (status["frames"], status["fps"], status["faces"], status["audio"]) == (12, 10.0, 1,
                                                                                    True)
    assert (status["stage"], status["done"], status["total"]) == ("animating", 12, 12)
    code, video, head = call(base + status["result"] + "?download=1")
    assert code == 200 and head["Content-Disposition"].startswith("attachment")
    path = app.jobs.root / "downloaded.mp4"
    path.write_bytes(video)
    assert ffprobe(str(path)) == {"codec": "h264", "fps": 10.0, "audio": True}
    code, part, head = call(base + status["result"], headers={"Range": "bytes=10-19"})
    assert code == 206 and part == video[10:20]
    assert head["Content-Range"] == f"bytes 10-19/{len(video)}"
    # the job's inputs are gone, only its result is kept
    assert [p.name for p in (app.jobs.root / "jobs" / job_id).iterdir()] == ["result.mp4"]
    (app.jobs.root / "jobs" / job_id / "result.mp4").unlink()  # evicted meanwhile
    code, body, _ = call(base + status["result"])
    assert code == 404 and body["error"].startswith(f"job {job_id} has no result")


def test_a_portrait_without_a_face_fails_with_the_clis_message(web, tmp_path):
    base, _ = web()
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((128, 128, 3), 90, np.uint8)).save(blank)
    source = upload(base, blank, "source")[1]["id"]
    status = wait_done(base, submit(base, source)[1]["id"])
    assert status["state"] == "failed" and status["error"].startswith("error: no face found")


def test_jobs_run_one_at_a_time_in_order_and_old_results_are_removed(web, monkeypatch, media):
    monkeypatch.setattr(jobs_module, "KEEP_JOBS", 2)
    base, app = web()
    running, order = [], []
    original = app._run_job

    def one_at_a_time(job, on_progress):
        running.append(job.id)
        assert len(running) == 1, "two jobs ran at once"
        order.append(job.id)
        time.sleep(0.1)
        try:
            return original(job, on_progress)
        finally:
            running.remove(job.id)

    app.jobs._runner = one_at_a_time
    ids = [submit(base, crop_driving="off")[1]["id"] for _ in range(3)]
    positions = [call(f"{base}/api/jobs/{i}")[1].get("position") for i in ids]
    assert positions[2] in (1, 2)  # still waiting behind the others
    statuses = [wait_done(base, i, timeout=120) for i in ids]
    assert [s["state"] for s in statuses] == ["done"] * 3 and order == ids
    assert not (app.jobs.root / "jobs" / ids[0]).exists()  # only the last 2 kept
    assert (app.jobs.root / "jobs" / ids[2] / "result.mp4").is_file()
    root = app.jobs.root
    app.close()
    assert not root.exists()


def test_a_full_queue_is_an_error(web, monkeypatch):
    base, app = web(max_waiting=1)
    gate = threading.Event()
    app.jobs._runner = lambda job, on_progress: gate.wait(10) and {}
    first = submit(base)[1]["id"]
    deadline = time.monotonic() + 10
    while app.jobs.get(first).state != "running" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "id" in submit(base)[1]
    assert submit(base)[1]["error"] == ("error: 1 jobs are already waiting; try again when one "
                                        "is done")
    gate.set()


def test_parse_range():
    assert parse_range(None, 100) == (0, 99)
    assert parse_range("bytes=10-", 100) == (10, 99)
    assert parse_range("bytes=-10", 100) == (90, 99)
    assert parse_range("bytes=5-500", 100) == (5, 99)
    assert parse_range("bytes=50-10", 100) == (0, 99)
    assert parse_range("bytes=0-1,5-6", 100) == (0, 99)


@pytest.mark.parametrize("argv, expected", [
    (["--share"], "error: --share is not offered"),
    (["--port", "70000"], "error: --port must be in 0..65535, got 70000"),
    (["--ratio", "9"], "error: --ratio must be in (0, 2], got 9"),
    (["--filename", "x.mp4"], "error: unrecognized arguments: --filename x.mp4"),
])
def test_bad_server_flags_are_one_line_and_exit_2(argv, expected, capsys):
    assert web_main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected)
    assert "serving on" not in captured.out


def test_missing_weights_stop_the_server_before_it_listens(tmp_path, capsys, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the server's temp root goes
    code = web_main(["--weight_path", str(tmp_path / "none.pdparams"), "--port", "0"])
    captured = capsys.readouterr()
    assert code == 2 and "serving on" not in captured.out
    assert len(captured.err.strip().splitlines()) == 1
    assert not list(tmp_path.glob("ppgan-app-*"))


def test_a_full_disk_while_storing_an_upload_is_one_line(web, media, monkeypatch):
    import errno

    from ppgan_app.apps.web import jobs as jobs_mod

    base, app = web()

    def full(path, kind):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(jobs_mod, "check_upload", full)
    status, body, _ = upload(base, media["portrait"], "source")
    assert status == 500 and body["error"].startswith("error: no space left on device at ")
    assert list((app.jobs.root / "uploads").iterdir()) == []


def test_paddle_stays_in_dygraph_mode_on_the_main_thread_after_a_job(tmp_path):
    """Paddle sets up dygraph in the thread that imports it: the app must import it on the
    main thread, not leave that to the worker (a fresh process, Paddle not yet imported;
    without it the FOMM built afterwards gets static-graph parameters)."""
    import subprocess
    import sys
    from pathlib import Path

    script = f"""
import sys, time
sys.path.insert(0, {str(Path(__file__).parent)!r})
from app_helpers import FakeAnimator, make_tiny_checkpoint
from ppgan_app.apps.expression_transfer.options import TransferOptions
from ppgan_app.apps.web.server import ExpressionApp
assert "paddle" not in sys.modules
app = ExpressionApp(TransferOptions(relative=True, progress=False), animator=FakeAnimator(),
                    temp_parent={str(tmp_path)!r})
job = app.jobs.submit(None, None, app.options)
while app.jobs.get(job.id).state not in ("done", "failed"):
    time.sleep(0.05)
app.close()
print(app.jobs.get(job.id).state, make_tiny_checkpoint({str(tmp_path)!r})["image_size"])
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300)
    assert out.stdout.split() == ["done", "64"], out.stderr[-2000:]
