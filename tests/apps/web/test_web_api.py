"""The app's API through gradio_client and plain HTTP: ``/animate`` with options by name, errors
as one line, the upload limit, NaN/Infinity to the GAN endpoints, SIGTERM during a job and
``--share`` without internet."""
import json
import subprocess
import time
import urllib.error
import urllib.request

import pytest

pytest.importorskip("gradio_client",
                    reason="the web app needs Gradio: pip install -r requirements.txt")

from ppgan_app.apps.expression_transfer.predictor import sample_paths
from ppgan_app.media.video import VideoReader

import browser_helpers as bh
from app_helpers import ffprobe



def client(url):
    from gradio_client import Client

    return Client(url, verbose=False)


def test_animate_endpoint_returns_the_video_with_sound(web_server):
    from gradio_client import handle_file

    portrait, driving = sample_paths()
    api = client(web_server["url"])
    info = api.view_api(return_format="dict", print_info=False)["named_endpoints"]["/animate"]
    names = [p["parameter_name"] for p in info["parameters"]]
    assert names[:4] == ["source_image", "driving_video", "relative", "adapt_scale"]
    assert {"face_detector", "no_face_ok", "ratio", "crop_driving", "smooth"} <= set(names)
    assert "weight_path" not in names  # the networks are the server's
    path = api.predict(source_image=handle_file(portrait), driving_video=handle_file(driving),
                       relative=True, adapt_scale=True, api_name="/animate")
    assert ffprobe(path) == {"codec": "h264", "fps": 25.0, "audio": True}
    reader = VideoReader(path)
    assert reader.meta.size == (512, 512) and sum(1 for _ in reader) == 100


def test_a_still_picture_as_driving_input_gives_a_picture(web_server):
    from gradio_client import handle_file
    from PIL import Image

    portrait, _ = sample_paths()
    path = client(web_server["url"]).predict(source_image=handle_file(portrait),
                                             driving_video=handle_file(portrait),
                                             api_name="/animate")
    assert path.endswith(".png")
    with Image.open(path) as image:  # the portrait, its face given the picture's expression
        assert image.format == "PNG" and image.size == (512, 512)


def test_a_one_frame_video_is_one_line(web_server, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    from ppgan_app.media.video import Mp4Writer

    portrait, driving = sample_paths()
    short = tmp_path / "short.mp4"
    with Mp4Writer(str(short), 25.0) as writer:
        writer.write(next(iter(VideoReader(driving))))
        writer.finish()
    with pytest.raises(AppError) as err:
        client(web_server["url"]).predict(source_image=handle_file(portrait),
                                          driving_video=handle_file(str(short)),
                                          api_name="/animate")
    message = str(err.value)
    assert message.startswith("error: the driving video short.mp4 has 1 frame(s)"), message
    assert "\n" not in message and "ppgan-app-" not in message


def test_bad_option_values_name_the_page_labels(web_server):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    portrait, driving = sample_paths()
    with pytest.raises(AppError, match=r"^error: “Face region size” must be in \(0, 2\], got 9"):
        client(web_server["url"]).predict(source_image=handle_file(portrait),
                                          driving_video=handle_file(driving), ratio=9.0,
                                          api_name="/animate")


def call(url, endpoint, payload):
    """POST ``{"data": payload}`` (raw JSON text) and return the event stream's text."""
    base = url.rstrip("/") + "/gradio_api/call/" + endpoint
    request = urllib.request.Request(base, data=('{"data": %s}' % payload).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        event = json.loads(response.read())["event_id"]
    with urllib.request.urlopen(f"{base}/{event}", timeout=60) as response:
        return response.read().decode()


@pytest.mark.parametrize("seed", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_to_the_gan_endpoints_are_one_line_errors(web_server, seed):
    stream = call(web_server["url"], "gan_grid", f'[4, {seed}, 0, "every class"]')
    assert stream.startswith("event: error")
    error = json.loads(stream.split("data:", 1)[1].splitlines()[0])["error"]
    assert error.startswith("error: seed must be a whole number, got ")
    assert "Traceback" not in stream
    stream = call(web_server["url"], "gan_interpolate", '[2, 3, 0, 1e400, "Bag"]')
    assert "error: truncation must be a positive number" in stream


def test_gan_grid_endpoint_names_the_classes(web_server):
    image, caption = client(web_server["url"]).predict(4, 1, 0.7, "Sneaker",
                                                       api_name="/gan_grid")
    assert caption.startswith("Rows, top to bottom: Sneaker ")


def test_uploads_over_the_limit_are_refused(web_server):
    import uuid

    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; "
            f"filename=\"big.mp4\"\r\nContent-Type: video/mp4\r\n\r\n").encode() \
        + b"\0" * (bh.UPLOAD_MB * (1 << 20) + 1) + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        web_server["url"].rstrip("/") + "/gradio_api/upload", data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=30)
    assert err.value.code == 413
    assert "maximum allowed size" in err.value.read().decode()


def test_sigterm_during_a_job_exits_143_and_leaves_no_temp(tmp_path, tiny_fomm):
    from gradio_client import handle_file

    proc, url = bh.start_server(bh.tiny_server_args(tiny_fomm), bh.server_env(tmp_path))
    try:
        portrait, driving = sample_paths()
        job = client(url).submit(source_image=handle_file(portrait),
                                 driving_video=handle_file(driving), api_name="/animate")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = job.status()
            if status.progress_data and status.progress_data[0].index:
                break  # frames are being processed
            time.sleep(0.1)
        else:
            pytest.fail(f"the job reported no frames: {job.status()}")
        assert list(tmp_path.glob("ppgan-app-*"))
    finally:
        code = bh.stop(proc)
    output = "".join(proc.output)
    assert code == 143, output
    assert "terminate called" not in output and "Traceback" not in output
    assert output.rstrip().endswith("terminated (SIGTERM): partial outputs removed")
    assert not list(tmp_path.glob("ppgan-app-*"))


def test_share_without_internet_is_one_line_and_exit_2(tiny_fomm, monkeypatch, capsys):
    from ppgan_app.cli.web import main

    def offline(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    assert main(["--share", "--port", "0", "--config", tiny_fomm["config"], "--weight_path",
                 tiny_fomm["weights"]]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [err[0]] and err[0].startswith("error: --share needs internet: Gradio's "
                                                  "share service")


def test_bad_flags_are_one_line_and_exit_2(capsys):
    from ppgan_app.cli.web import main

    assert main(["--port", "70000"]) == 2
    assert capsys.readouterr().err.strip() == "error: --port must be in 0..65535, got 70000"
    assert main(["--live_model", "big"]) == 2
    assert "--live_model 'big' is not one of: mobile, same" in capsys.readouterr().err


def test_half_sent_requests_hold_nothing(web_server):
    import socket
    from urllib.parse import urlsplit

    address = urlsplit(web_server["url"])
    held = []
    try:
        for _ in range(40):  # uploads that announce 100 kB and send 3 bytes
            sock = socket.create_connection((address.hostname, address.port), timeout=10)
            sock.sendall(b"POST /gradio_api/upload HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Length: 100000\r\n\r\nabc")
            held.append(sock)
        start = time.monotonic()
        with urllib.request.urlopen(web_server["url"], timeout=10) as response:
            assert response.status == 200
        assert time.monotonic() - start < 5
    finally:
        for sock in held:
            sock.close()


def test_a_full_queue_refuses_with_one_line_not_a_reset(web_server):
    from gradio_client import handle_file

    portrait, driving = sample_paths()
    api = client(web_server["url"])
    jobs = [api.submit(source_image=handle_file(portrait), driving_video=handle_file(driving),
                       api_name="/animate") for _ in range(bh.QUEUE_SIZE + 5)]
    refused = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(refused) < 4:
            refused = [j for j in jobs if j.done() and j.exception() is not None]
            time.sleep(0.2)
    finally:
        for job in jobs:
            job.cancel()
    messages = {" ".join(str(j.exception()).split()) for j in refused}
    assert len(refused) >= 4 and messages == {"Queue is full! Please try again."}
