"""Helpers of the web app tests: start ``ppgan-app`` on a free port, drive headless Chromium
(with a y4m clip as its fake webcam), save a small screenshot of the page.

Chromium and its driver come from Debian (``apt-get install -y chromium chromium-driver``);
selenium is pointed at them, so nothing is downloaded at run time.
"""
from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import List, Optional, Tuple

REPO = Path(__file__).resolve().parents[3]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
INSTALL_HINT = ("needs Debian's Chromium and its driver: apt-get update && apt-get install -y "
                "chromium chromium-driver (and pip install -r requirements.txt for selenium)")
#: Upload limit (MB) and queue size of the test server.
UPLOAD_MB = 2
QUEUE_SIZE = 3
#: Chromium flags: headless, no sandbox (root in CI), no network calls of its own.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--window-size=1200,900",
                  "--autoplay-policy=no-user-gesture-required")


def browser_missing() -> str:
    """Why the browser test cannot run here, or '' when it can."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return INSTALL_HINT
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"{path} is missing; {INSTALL_HINT}"
    return ""


def start_chromium(profile: str, camera: Optional[str] = None):
    """A headless Chromium session (selenium) with a fresh profile folder; ``camera``: a y4m
    clip the page sees as the webcam (permission granted without asking)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    flags = [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
    if camera:
        flags += ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                  f"--use-file-for-fake-video-capture={camera}"]
    for flag in flags:
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def server_env(temp: Path) -> dict:
    """The environment of a test server: its temp folder, this worktree's package first."""
    return dict(os.environ, TMPDIR=str(temp), GRADIO_ANALYTICS_ENABLED="False",
                PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def tiny_server_args(tiny_fomm: dict) -> List[str]:
    """Flags of a server on the tiny random-weight FOMM (Live tab on the same networks)."""
    return ["--config", tiny_fomm["config"], "--weight_path", tiny_fomm["weights"],
            "--image_size", "64", "--engine", "dygraph", "--relative", "--live_model", "same"]


def served_model_args(tiny_fomm: dict) -> List[str]:
    """The model flags of the session's test server: the tiny random-weight FOMM, or the
    checkpoint named by ``$PPGAN_APP_TEST_FOMM`` (a kit training checkpoint, which carries its
    config and frame size: a trained model gives docs/web_app.png a real face; the tests do not
    depend on the weights)."""
    checkpoint = os.environ.get("PPGAN_APP_TEST_FOMM")
    if not checkpoint:
        return tiny_server_args(tiny_fomm)
    return ["--weight_path", checkpoint, "--engine", "dygraph", "--relative",
            "--live_model", "same"]


def write_y4m(source_video: str, path: Path, seconds: float = 2.0, size: int = 160) -> Path:
    """A short y4m clip (Chromium's fake webcam input) cut from ``source_video``."""
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-i",
                    source_video, "-t", str(seconds), "-vf", f"scale={size}:{size}", "-pix_fmt",
                    "yuv420p", str(path)], check=True)
    return path


def start_server(args: List[str], env: dict, timeout: float = 120.0
                 ) -> Tuple[subprocess.Popen, str]:
    """Start ``web-demo.py --port 0 ARGS``; return the process and its URL once it listens.

    Everything the server prints is kept in ``proc.output`` (a list of lines).

    Raises:
        RuntimeError: the server exited or printed no address within ``timeout`` seconds
            (its output is in the message).
    """
    proc = subprocess.Popen([sys.executable, str(REPO / "applications" / "tools" / "web-demo.py"),
                             "--host", "127.0.0.1", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, cwd=str(REPO))
    proc.output = []
    lines: "queue.Queue[str]" = queue.Queue()

    def read() -> None:
        for line in proc.stdout:
            proc.output.append(line)
            lines.put(line)

    proc.reader = threading.Thread(target=read, daemon=True)
    proc.reader.start()
    try:
        while True:
            line = lines.get(timeout=timeout)
            if line.startswith("serving on "):
                return proc, line.split()[2]
    except queue.Empty:
        pass
    proc.kill()
    proc.wait()
    raise RuntimeError("the web app did not start:\n" + "".join(proc.output))


def save_screenshot(driver, path: Path, colours: int = 128) -> Path:
    """The browser's viewport as a palette PNG (a few hundred KB at most)."""
    from PIL import Image

    with tempfile.TemporaryDirectory() as folder:
        raw = Path(folder) / "raw.png"
        driver.save_screenshot(str(raw))
        with Image.open(raw) as image:
            small = image.convert("RGB").quantize(colours, method=Image.Quantize.MEDIANCUT)
            path.parent.mkdir(parents=True, exist_ok=True)
            small.save(path, optimize=True)
    return path


def stop(proc: subprocess.Popen, timeout: float = 60.0) -> int:
    """SIGTERM the server and return its exit code (its output is complete afterwards)."""
    if proc.poll() is None:
        proc.terminate()
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
    proc.reader.join(timeout=10)
    return code


def copy_if_asked(shot: Path) -> None:
    """Copy the screenshot to ``$PPGAN_APP_SCREENSHOT`` when set (docs/web_app.png; with
    ``$PPGAN_APP_TEST_FOMM`` naming a trained checkpoint, see :func:`served_model_args`)."""
    target = os.environ.get("PPGAN_APP_SCREENSHOT")
    if target:
        shutil.copy(shot, target)
