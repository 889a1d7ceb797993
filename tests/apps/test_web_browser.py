"""The web app in a real browser: headless Chromium uploads the bundled sample, waits for the
result and plays it; a bad upload shows the CLI's one-line error in the page.

Runs with Debian's chromium + chromium-driver (``.ci/run`` installs them). Without them the
test skips saying how to install them, except under CI (``CI`` set), where it fails.
"""
import os
import time
import urllib.request

import pytest

from ppgan_app.apps.expression_transfer.predictor import sample_paths
from ppgan_app.media.video import VideoReader

import browser_helpers as bh
from app_helpers import ffprobe


@pytest.fixture
def browser(tmp_path):
    missing = bh.browser_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the browser test must run in CI: {missing}")
        pytest.skip(missing)
    driver = bh.start_chromium(str(tmp_path / "profile"))
    yield driver
    driver.quit()


@pytest.fixture
def server(tmp_path, tiny_fomm):
    env = dict(os.environ, TMPDIR=str(tmp_path), PYTHONPATH=str(bh.REPO) + os.pathsep
               + os.environ.get("PYTHONPATH", ""))
    proc, url = bh.start_server(["--config", tiny_fomm["config"], "--weight_path",
                                 tiny_fomm["weights"], "--image_size", "64", "--engine",
                                 "dygraph", "--relative"], env)
    yield {"proc": proc, "url": url, "temp": tmp_path}
    bh.stop(proc)


def wait_for(driver, script, timeout=120.0, every=0.2):
    """Run ``script`` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for: {script}\n"
                         f"page error box: {driver.find_element('id', 'error').text!r}")


def test_upload_animate_play_download_in_chromium(browser, server, tmp_path):
    from selenium.webdriver.common.by import By

    browser.get(server["url"])
    wait_for(browser, "return document.body.dataset.ready === '1'", timeout=30)
    # the options come from TransferOptions with the server's defaults (--relative)
    assert browser.find_element(By.ID, "opt-relative").is_selected()
    assert browser.find_element(By.ID, "opt-face_detector").get_attribute("value") == "yunet"

    # a bad input: the same one-line error as the CLI's, in the page
    bad = tmp_path / "notes.txt"
    bad.write_text("not a portrait")
    browser.find_element(By.ID, "source-file").send_keys(str(bad))
    message = wait_for(browser, "const e = document.getElementById('error');"
                                "return e.style.display === 'block' && e.textContent;", 30)
    assert message.startswith("error: cannot read source image notes.txt: ")
    assert "\n" not in message and "ppgan-app-" not in message  # no temp path leaks out
    assert "bad" in browser.find_element(By.ID, "source-status").get_attribute("class")

    # the bundled sample, uploaded through the page
    portrait, driving = sample_paths()
    browser.find_element(By.ID, "source-file").send_keys(portrait)
    browser.find_element(By.ID, "driving-file").send_keys(driving)
    wait_for(browser, "return document.getElementById('source-status').className.includes('ok')"
                      " && document.getElementById('driving-status').className.includes('ok')"
                      " && !document.getElementById('run').disabled", 60)
    assert not browser.find_element(By.ID, "error").is_displayed()  # cleared by a good upload
    browser.find_element(By.ID, "run").click()
    wait_for(browser, "return !document.getElementById('progress-box').classList"
                      ".contains('hidden')", 10)
    # the video loads and plays in the page: 100 frames at 25 fps = 4 s, 512x512
    duration = wait_for(browser, "const v = document.getElementById('result');"
                                 "return v.readyState >= 1 && v.duration;", 180)
    assert abs(duration - 4.0) < 0.1
    assert browser.execute_script("const v = document.getElementById('result');"
                                  "return [v.videoWidth, v.videoHeight];") == [512, 512]
    assert browser.find_element(By.ID, "progress").get_attribute("value") == "1"
    assert browser.find_element(By.ID, "progress-text").text == "done"
    browser.execute_script("const v = document.getElementById('result'); v.muted = true;"
                           "v.play();")
    wait_for(browser, "return document.getElementById('result').currentTime > 0.2", 30)
    assert "with sound" in browser.find_element(By.ID, "result-info").text

    # the download link gives the whole mp4: H.264, 25 fps, 100 frames, the sample's sound
    href = browser.find_element(By.ID, "download").get_attribute("href")
    with urllib.request.urlopen(href, timeout=30) as response:
        assert "attachment" in response.headers["Content-Disposition"]
        data = response.read()
    video = tmp_path / "downloaded.mp4"
    video.write_bytes(data)
    assert ffprobe(str(video)) == {"codec": "h264", "fps": 25.0, "audio": True}
    assert sum(1 for _ in VideoReader(str(video))) == 100

    shot = bh.save_screenshot(browser, tmp_path / "web_app.png")
    assert shot.stat().st_size < 300_000
    bh.copy_if_asked(shot)

    # stopping the server removes every temp file (uploads, results)
    assert list(server["temp"].glob("ppgan-app-*"))
    assert bh.stop(server["proc"]) == 143
    assert not list(server["temp"].glob("ppgan-app-*"))


def test_without_the_browser_the_reason_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setattr(bh, "CHROMEDRIVER", str(tmp_path / "chromedriver"))
    reason = bh.browser_missing()
    assert reason.startswith(f"{tmp_path / 'chromedriver'} is missing")
    assert "apt-get update && apt-get install -y chromium chromium-driver" in reason


@pytest.fixture
def gan_server(tmp_path, tiny_fomm):
    from app_helpers import tiny_gan_checkpoint

    checkpoint = tiny_gan_checkpoint(tmp_path, n_class=3)
    env = dict(os.environ, TMPDIR=str(tmp_path), PYTHONPATH=str(bh.REPO) + os.pathsep
               + os.environ.get("PYTHONPATH", ""))
    proc, url = bh.start_server(["--config", tiny_fomm["config"], "--weight_path",
                                 tiny_fomm["weights"], "--image_size", "64", "--engine",
                                 "dygraph", "--gan_checkpoint", checkpoint], env)
    yield url
    bh.stop(proc)


def image_size(driver, before, timeout=60):
    """``[naturalWidth, naturalHeight]`` of the GAN tab's image once one other than the image
    ``before`` (its src) has loaded."""
    return wait_for(driver, "const i = document.getElementById('gan-image');"
                            f"return i.src !== {before!r} && i.complete && i.naturalWidth > 0"
                            " && [i.naturalWidth, i.naturalHeight];", timeout)


def click_for_image(driver, button):
    from selenium.webdriver.common.by import By

    before = driver.find_element(By.ID, "gan-image").get_attribute("src") or ""
    driver.find_element(By.ID, button).click()
    return image_size(driver, before)


def test_gan_tab_grid_interpolation_and_a_bad_value_in_chromium(browser, gan_server):
    from selenium.webdriver.common.by import By

    browser.get(gan_server)
    wait_for(browser, "return document.body.dataset.ready === '1'", timeout=30)
    assert browser.find_element(By.ID, "gan-section").is_displayed()
    assert "3 classes" in browser.find_element(By.ID, "gan-model").text
    # a conditional model: a row of 8 per class (32x32 images, 2-pixel padding)
    assert click_for_image(browser, "gan-grid") == [8 * 34 + 2, 3 * 34 + 2]
    # one class, then an interpolation strip of 2 rows x 5 steps
    browser.execute_script("document.getElementById('gan-label').value = '1';"
                           "document.getElementById('gan-rows').value = '2';"
                           "document.getElementById('gan-steps').value = '5';")
    assert click_for_image(browser, "gan-interpolate") == [5 * 34 + 2, 2 * 34 + 2]
    # a bad value: the one-line error in the tab's own box, the last image kept
    browser.execute_script("document.getElementById('gan-num').value = '0';")
    browser.find_element(By.ID, "gan-grid").click()
    message = wait_for(browser, "const e = document.getElementById('gan-error');"
                                "return e.style.display === 'block' && e.textContent;", 30)
    assert message == "error: num must be in 1..85, got 0"
    assert browser.find_element(By.ID, "gan-image").is_displayed()
