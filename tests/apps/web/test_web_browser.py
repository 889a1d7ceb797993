"""The app in headless Chromium: each tab driven as a user would.

Animate: a bad portrait gets its one-line error when chosen and when Animate is pressed; a
still picture as the driving input is announced as such; the bundled sample (the examples row)
gives a 4-second video with a download, and a still picture a PNG shown and downloadable; a cleared input is never replaced by the sample; Cancel stops a job. Live: Chromium's
fake camera plays a y4m clip cut from the sample video, and animated frames come back (fps
printed). GAN: grid rows named by Fashion-MNIST's classes, an interpolation strip. A 420 px
window never scrolls sideways. One server (conftest) and one browser for the module.

Runs with Debian's chromium + chromium-driver (``.ci/run`` installs them). Without them the
tests skip saying how to install them, except under CI (``CI`` set), where they fail.
"""
import os
import re
import time
import urllib.request

import pytest

from ppgan_app.apps.expression_transfer.predictor import sample_paths

import browser_helpers as bh

TOAST = ("return [...document.querySelectorAll('.toast-body')].map(t => t.innerText"
         ".split('\\n').pop()).filter(t => t.startsWith('error'))")
ALL_TOASTS = "return [...document.querySelectorAll('.toast-body')].map(t => t.innerText)"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    missing = bh.browser_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the browser test must run in CI: {missing}")
        pytest.skip(missing)
    folder = tmp_path_factory.mktemp("browser")
    camera = bh.write_y4m(sample_paths()[1], folder / "webcam.y4m")
    driver = bh.start_chromium(str(folder / "profile"), camera=str(camera))
    yield driver
    driver.quit()


@pytest.fixture
def page(browser, web_server):
    browser.set_window_size(1200, 900)
    browser.get(web_server["url"])
    wait_for(browser, "return !!document.querySelector('#run')", 60)
    return browser


def wait_for(driver, script, timeout=120.0, every=0.2):
    """Run ``script`` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for: {script}\ntoasts: "
                         f"{driver.execute_script(ALL_TOASTS)}")


def text_of(driver, elem_id):
    return driver.execute_script(f"const e = document.getElementById('{elem_id}');"
                                 "return e ? e.innerText.trim() : ''")


def tab(driver, name):
    from selenium.webdriver.common.by import By

    driver.find_element(By.XPATH, f"//button[@role='tab' and contains(., '{name}')]").click()


def upload(driver, elem_id, path):
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, f"#{elem_id} input[type=file]").send_keys(str(path))


def dismiss_toasts(driver):
    """Close the error messages shown (they would also expire after 10 s)."""
    driver.execute_script("document.querySelectorAll('.toast-close').forEach(b => b.click())")
    wait_for(driver, TOAST.replace("return ", "return !(") + ").length", 15)


def run_and_get_error(driver):
    dismiss_toasts(driver)
    driver.execute_script("document.getElementById('run').click()")
    return wait_for(driver, TOAST, 60)[0]


def test_animate_bad_inputs_then_the_sample(page, web_server, tmp_path):
    # a text file named .jpg as the portrait: the CLI's line when chosen, and when run
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a portrait")
    upload(page, "source-image", bad)
    status = wait_for(page, "return document.getElementById('source-status').innerText"
                            ".includes('error') && document.getElementById('source-status')"
                            ".innerText.trim()", 30)
    assert status.startswith("error: cannot read source image notes.jpg: ")
    assert "\n" not in status and "ppgan-app-" not in status
    # a JPEG renamed .mp4 as the driving input: a still picture, said so when chosen (the
    # result will be a picture, as with the command line)
    still = tmp_path / "still.mp4"
    still.write_bytes(open(sample_paths()[0], "rb").read())
    upload(page, "driving-video", still)
    status = wait_for(page, "return document.getElementById('driving-status').innerText"
                            ".includes('ready') && document.getElementById('driving-status')"
                            ".innerText.trim()", 30)
    assert status == ("ready: a still picture (512x512): the portrait takes its expression; "
                      "the result is a picture (PNG)")
    assert wait_for(page, "const i = document.querySelector('#driving-picture img');"
                          "return i && i.complete && i.naturalWidth", 30) == 512
    error = run_and_get_error(page)
    assert error.startswith("error: cannot read source image notes.jpg: ")

    # the examples row puts the sample in both inputs
    page.execute_script("document.querySelector('#examples tbody tr td, #examples .example')"
                        ".click()")
    wait_for(page, "return document.getElementById('source-status').innerText.includes('ready')"
                   " && document.getElementById('driving-status').innerText.includes('100 "
                   "frames')", 30)
    assert text_of(page, "driving-status") == "ready: 100 frames, 4.0 s at 25 fps, with sound"
    assert text_of(page, "source-status") == "ready: 1 face(s) found (512x512)"
    page.execute_script("document.getElementById('run').click()")
    counts = wait_for(page, "const t = document.querySelector('#result .progress-text, "
                            "#result .meta-text'); return t && /\\d+\\/100 frames/"
                            ".test(t.innerText) && t.innerText", 60, every=0.05)
    assert "/100 frames" in counts
    duration = wait_for(page, "const v = document.querySelector('#result video');"
                              "return v && v.readyState >= 1 && v.duration", 180)
    assert abs(duration - 4.0) < 0.1
    assert page.execute_script("const v = document.querySelector('#result video');"
                               "return [v.videoWidth, v.videoHeight]") == [512, 512]
    href = wait_for(page, "const a = document.querySelector('#download a[download]');"
                          "return a && a.href", 30)
    with urllib.request.urlopen(href, timeout=30) as response:
        assert response.read(12)[4:8] == b"ftyp"  # an mp4
    dismiss_toasts(page)
    shot = bh.save_screenshot(page, tmp_path / "web_app.png")
    assert shot.stat().st_size < 400_000
    bh.copy_if_asked(shot)

    # a still picture as the driving input: the portrait with its expression, as a PNG shown
    # in the page and downloadable (the command line writes the same)
    page.execute_script("document.querySelector('#driving-video button[aria-label=\"Clear\"]')"
                        ".click()")
    wait_for(page, "return document.querySelector('#driving-video input[type=file]')", 10)
    upload(page, "driving-video", sample_paths()[0])
    wait_for(page, "return document.getElementById('driving-status').innerText"
                   ".includes('still picture')", 30)
    page.execute_script("document.getElementById('run').click()")
    size = wait_for(page, "const i = document.querySelector('#result-picture img');"
                          "return i && i.complete && i.naturalWidth && "
                          "[i.naturalWidth, i.naturalHeight]", 120)
    assert size == [512, 512]
    assert not page.execute_script("return document.querySelector('#result video')")
    href = wait_for(page, "const a = document.querySelector('#download a[download]');"
                          "return a && a.href.endsWith('.png') && a.href", 30)
    with urllib.request.urlopen(href, timeout=30) as response:
        assert response.read(8) == b"\x89PNG\r\n\x1a\n"

    # a cleared portrait stays cleared: Animate says so instead of running the sample
    page.execute_script("document.querySelector('#source-image button[aria-label=\"Clear\"]')"
                        ".click()")
    wait_for(page, "return !document.querySelector('#source-image img')", 10)
    assert run_and_get_error(page).startswith("error: choose a portrait first")


def test_cancel_stops_the_job(page, web_server):
    done_before = sum("job done" in line for line in web_server["proc"].output)
    page.execute_script("document.querySelector('#examples tbody tr td, #examples .example')"
                        ".click()")
    wait_for(page, "return document.getElementById('driving-status').innerText"
                   ".includes('ready')", 30)
    page.execute_script("document.getElementById('run').click()")
    wait_for(page, "const t = document.querySelector('#result .progress-text, "
                   "#result .meta-text'); return t && /frames/.test(t.innerText)", 60, every=0.05)
    page.execute_script("document.getElementById('cancel').click()")
    time.sleep(3)
    assert not page.execute_script("return document.querySelector('#result video')")
    assert sum("job done" in line for line in web_server["proc"].output) == done_before


def test_live_tab_animates_the_fake_webcam(page):
    from selenium.webdriver.common.by import By

    tab(page, "Live")
    page.find_element(By.XPATH, "//*[@id='live-webcam']//button[contains(., "
                                "'Click to Access Webcam')]").click()
    record = wait_for(page, "return [...document.querySelectorAll('#live-webcam button')]"
                            ".find(b => b.innerText.trim() === 'Record')", 30)
    record.click()
    wait_for(page, "return document.querySelector('#live-output img')", 60)
    # count the animated frames the page receives for a few seconds
    page.execute_script("""
        window.liveFrames = new Set();
        window.liveTimer = setInterval(() => {
            const img = document.querySelector('#live-output img');
            if (img) window.liveFrames.add(img.src);
        }, 10);""")
    start = time.monotonic()
    time.sleep(6)
    frames = page.execute_script("clearInterval(window.liveTimer); return window.liveFrames.size")
    fps = frames / (time.monotonic() - start)
    line = text_of(page, "live-stats")
    stats = re.search(r"([\d.]+) fps · (\d+) ms per frame on the server · \d+ frames · "
                      r"engine (\w+) \((\w+)\)", line)
    assert stats, line
    print(f"\nLive tab in headless Chromium, engine {stats.group(3)} ({stats.group(4)}): "
          f"{fps:.1f} animated frames/s received by the page; the tab shows "
          f"{stats.group(1)} fps, {stats.group(2)} ms per frame on the server")
    # the server's flags chose the engine (the test server runs --engine dygraph)
    assert stats.group(3) == "dygraph" and "engine dygraph (fp32)" in text_of(page, "live-engine")
    assert frames >= 3 and float(stats.group(1)) > 0
    page.find_element(By.ID, "live-reset").click()
    first = page.execute_script("return document.querySelector('#live-output img').src")
    wait_for(page, f"return document.querySelector('#live-output img').src !== '{first}'", 30)


def test_gan_tab_grid_and_interpolation(page):
    from selenium.webdriver.common.by import By

    tab(page, "GAN")
    page.find_element(By.ID, "gan-grid-run").click()
    size = wait_for(page, "const i = document.querySelector('#gan-grid img');"
                          "return i && i.complete && i.naturalHeight && "
                          "[i.naturalWidth, i.naturalHeight]", 60)
    assert size[1] == 10 * 3 * 36  # ten class rows of 32 px images, zoomed x3
    caption = text_of(page, "gan-grid-caption")
    assert caption.startswith("Rows, top to bottom: T-shirt/top, Trouser, Pullover, Dress")
    page.find_element(By.ID, "gan-walk-run").click()
    size = wait_for(page, "const i = document.querySelector('#gan-strip img');"
                          "return i && i.complete && i.naturalHeight && "
                          "[i.naturalWidth, i.naturalHeight]", 60)
    assert size == [3 * (8 * 34 + 2), 3 * (4 * 34 + 2)]  # 4 walks of 8 steps
    seed = page.find_element(By.CSS_SELECTOR, "#gan-seed input")
    seed.clear()
    seed.send_keys("-3")
    dismiss_toasts(page)
    page.find_element(By.ID, "gan-grid-run").click()
    assert wait_for(page, TOAST, 30)[0] == "error: seed must be in 0..4294967295, got -3"


@pytest.mark.parametrize("name", ["Animate", "Live", "GAN"])
def test_a_narrow_window_never_scrolls_sideways(page, name):
    page.set_window_size(420, 900)
    tab(page, name)
    time.sleep(1)
    width = page.execute_script("return document.documentElement.clientWidth")
    assert page.execute_script("return document.documentElement.scrollWidth") <= width
    cut = page.execute_script("""
        return [...document.querySelectorAll('.gradio-container *')].filter(e => {
            const r = e.getBoundingClientRect();
            return e.offsetParent && r.width > 0 && r.right > arguments[0] + 1;
        }).map(e => e.id || e.className).slice(0, 5);""", width)
    assert cut == []
