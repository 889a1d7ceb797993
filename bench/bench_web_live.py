"""The web app's Live tab in headless Chromium: frames per second the page receives, and latency.

For each model (random weights: the speed does not depend on them) it starts ``ppgan-app
--verbose`` on a free loopback port (``--live_model same`` with that model, so the server's
``--engine`` and ``--precision`` choose the engine), opens the Live tab in headless Chromium
whose fake camera plays the bundled driving clip (y4m, looped by Chromium), starts the webcam
stream and, after a warm-up, records for ``--seconds``:

* in the page, the time (epoch ms) each animated frame has loaded (the output ``<img>``'s
  ``load`` event) and the frame number the tab's stats line shows with it;
* from the server's debug log, for each frame number, the time the webcam frame reached the
  Live tab's function and the time its animated face was returned (same machine, same clock).

Each row: frames displayed per second; the server's time per frame; the delivery (answer to
display: Gradio's JPEG encoding, its event stream, the browser loading the image); and the
latency from the frame's arrival at the server to its display (p50/p90). Not included: the
frame's wait before it is grabbed and sent (the webcam component sends one every
``stream_every``, 40 ms, and Gradio keeps only the newest, so it waits 0-40 ms more).
Needs Debian's chromium +
chromium-driver and selenium (as the browser tests)::

    python bench/bench_web_live.py                           # tiny 64 px and mobile 256 px
    python bench/bench_web_live.py --models mobile --engine openvino --seconds 30
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from harness import machine_line, save_random_fomm

REPO = Path(__file__).resolve().parents[1]
#: model name -> (packaged config, network input size)
MODELS = {"tiny": ("firstorder_tiny_64", 64), "mobile": ("firstorder_vox_mobile_256", 256)}

#: Installed in the page: (frame number in the stats line, epoch ms) at each image load.
RECORDER = """
window.liveShows = [];
const watch = () => {
    const img = document.querySelector('#live-output img');
    if (!img) return setTimeout(watch, 20);
    img.addEventListener('load', () => {
        const m = /(\\d+) frames/.exec(document.getElementById('live-stats').innerText);
        if (m) window.liveShows.push([+m[1], performance.timeOrigin + performance.now()]);
    });
};
watch();
"""
#: The Live tab's debug line for each frame (epoch seconds).
SERVER_LINE = re.compile(r"live frame (\d+): received ([\d.]+) answered ([\d.]+)")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", choices=sorted(MODELS), default=["tiny", "mobile"])
    parser.add_argument("--engine", default="auto", help="the server's --engine")
    parser.add_argument("--precision", default="fp32", help="the server's --precision")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured time per model")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before measuring")
    parser.add_argument("--camera_size", type=int, default=256, help="fake camera side (px)")
    return parser.parse_args(argv)


def browser_helpers():
    """The web tests' helpers (server start, Chromium with a fake camera), loaded by path."""
    path = REPO / "tests" / "apps" / "web" / "browser_helpers.py"
    spec = importlib.util.spec_from_file_location("browser_helpers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def percentile(values: list, q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def pair(answers: dict, shows: list) -> list:
    """``[(received, answered, shown)]`` in seconds for every frame number displayed."""
    return [(*answers[n], shown) for n, shown in shows if n in answers]


def measure(driver, proc, url: str, args: argparse.Namespace) -> dict:
    """Open the Live tab, stream the fake camera, record; the row's figures."""
    from selenium.webdriver.common.by import By

    driver.get(url)
    wait(driver, "return !!document.querySelector('#run')", 60)
    driver.find_element(By.XPATH, "//button[@role='tab' and contains(., 'Live')]").click()
    driver.find_element(By.XPATH, "//*[@id='live-webcam']//button[contains(., "
                                  "'Click to Access Webcam')]").click()
    record = wait(driver, "return [...document.querySelectorAll('#live-webcam button')]"
                          ".find(b => b.innerText.trim() === 'Record')", 30)
    driver.execute_script(RECORDER)
    record.click()
    wait(driver, "return document.querySelector('#live-output img')", 120)
    time.sleep(args.warmup)
    start = len(proc.output)
    driver.execute_script("window.liveShows = [];")
    time.sleep(args.seconds)
    shows = [(n, t / 1000.0) for n, t in driver.execute_script("return window.liveShows")]
    line = driver.execute_script("return document.getElementById('live-stats').innerText")
    time.sleep(0.5)
    answers = {int(m.group(1)): (float(m.group(2)), float(m.group(3))) for m in
               map(SERVER_LINE.search, proc.output[start:]) if m}
    rows = pair(answers, shows)
    engine = re.search(r"engine (\w+) \((\w+)\)", line)
    return {"fps": len(shows) / args.seconds, "answers": len(answers), "shows": len(shows),
            "server": percentile([1000 * (a - r) for r, a, _ in rows], 50),
            "delivery": percentile([1000 * (s - a) for _, a, s in rows], 50),
            "p50": percentile([1000 * (s - r) for r, _, s in rows], 50),
            "p90": percentile([1000 * (s - r) for r, _, s in rows], 90),
            "engine": f"{engine.group(1)} {engine.group(2)}" if engine else line}


def wait(driver, script: str, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for: {script}")


def run_model(bh, name: str, args: argparse.Namespace, folder: Path, camera: Path) -> dict:
    config, size = MODELS[name]
    weights = save_random_fomm(config, folder / f"{name}.pdparams")
    server_args = ["--config", config, "--weight_path", weights, "--image_size", str(size),
                   "--live_model", "same", "--engine", args.engine, "--precision",
                   args.precision, "--verbose"]
    proc, url = bh.start_server(server_args, bh.server_env(folder), timeout=600)
    driver = bh.start_chromium(str(folder / f"profile-{name}"), camera=str(camera))
    try:
        load = os.getloadavg()[0]
        row = measure(driver, proc, url, args)
        row["load"] = (load + os.getloadavg()[0]) / 2
    finally:
        driver.quit()
        bh.stop(proc)
    return row


def main(argv=None) -> int:
    args = parse_args(argv)
    bh = browser_helpers()
    missing = bh.browser_missing()
    if missing:
        print(f"error: {missing}", file=sys.stderr)
        return 2
    from ppgan_app.apps.expression_transfer.predictor import sample_paths

    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        camera = bh.write_y4m(sample_paths()[1], folder / "webcam.y4m", seconds=4.0,
                              size=args.camera_size)
        for name in args.models:
            rows[name] = run_model(bh, name, args, folder, camera)
    print(f"\nLive tab in headless Chromium, fake camera {args.camera_size} px (the bundled "
          f"driving clip), random weights, {args.seconds:g} s measured after "
          f"{args.warmup:g} s; {machine_line()}")
    print("| model | engine | page fps | server ms/frame | delivery ms | arrival→display "
          "p50 / p90 ms | frames answered / shown | load |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, r in rows.items():
        print(f"| {name} {MODELS[name][1]} px | {r['engine']} | {r['fps']:.1f} | "
              f"{r['server']:.0f} | {r['delivery']:.0f} | {r['p50']:.0f} / {r['p90']:.0f} | "
              f"{r['answers']} / {r['shows']} | {r['load']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
