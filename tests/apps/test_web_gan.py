"""The web app's GAN tab through its HTTP API (in-process, tiny untrained DCGANs): grids and
interpolation strips are the sampler's images, bad values are one-line errors, and a server
started without ``--gan_checkpoint`` says how to get the tab."""
import io
import json

import numpy as np
import pytest
from PIL import Image

from ppgan_app.apps.gan.sampler import (generate_array, interpolation_array,
                                        load_generator_model)
from ppgan_app.apps.web.gan_panel import MAX_GRID_IMAGES, GanPanel
from ppgan_app.cli.web import main as web_main
from ppgan_app.utils.visual import make_grid

from app_helpers import tiny_gan_checkpoint
from test_web_api import call, web  # noqa: F401 - the running-app fixture


@pytest.fixture(scope="module")
def uncond(tmp_path_factory):
    return tiny_gan_checkpoint(tmp_path_factory.mktemp("uncond"))


@pytest.fixture(scope="module")
def cond(tmp_path_factory):
    return tiny_gan_checkpoint(tmp_path_factory.mktemp("cond"), n_class=3)


def post(base, kind, **values):
    return call(f"{base}/api/gan/{kind}", data=json.dumps(values).encode(), method="POST",
                headers={"Content-Type": "application/json"})


def png(body):
    return np.asarray(Image.open(io.BytesIO(body)))


def test_without_a_checkpoint_the_page_has_no_gan_tab(web):
    base, _ = web()
    assert call(f"{base}/api/gan")[1] == {"available": False}
    status, body, _ = post(base, "grid", num=4)
    assert status == 404 and body["error"].startswith("error: this server has no GAN tab")
    assert "--gan_checkpoint" in body["error"]


def test_grid_is_the_samplers_images_for_the_same_seed(web, uncond):
    base, _ = web(gan=GanPanel(uncond))
    info = call(f"{base}/api/gan")[1]
    assert info["available"] and info["nz"] == 8 and info["n_class"] == 0
    status, body, head = post(base, "grid", num=6, seed=3)
    assert status == 200 and head["Content-Type"] == "image/png"
    expected = make_grid(generate_array(load_generator_model(uncond), 6, seed=3))
    assert np.array_equal(png(body), expected[:, :, 0])
    assert np.array_equal(png(post(base, "grid", num=6, seed=3)[1]), png(body))  # determinism
    assert not np.array_equal(png(post(base, "grid", num=6, seed=4)[1]), png(body))


def test_conditional_grid_rows_per_class_and_one_class(web, cond):
    base, _ = web(gan=GanPanel(cond))
    assert call(f"{base}/api/gan")[1]["n_class"] == 3
    every = png(post(base, "grid", num=5)[1])
    assert every.shape == (3 * 34 + 2, 5 * 34 + 2)  # a row per class, 2-pixel padding
    one = png(post(base, "grid", num=5, label=2)[1])
    assert one.shape == (34 + 2, 5 * 34 + 2)
    assert np.array_equal(one[2:34], every[2 + 2 * 34:34 + 2 * 34])  # class 2's row


def test_interpolation_strip_rows_and_steps(web, cond):
    base, _ = web(gan=GanPanel(cond))
    status, body, _ = post(base, "interpolate", rows=2, steps=5, seed=1, label=1)
    assert status == 200
    images = interpolation_array(load_generator_model(cond), 2, 5, seed=1, label=1)
    assert np.array_equal(png(body), make_grid(images, nrow=5)[:, :, 0])


@pytest.mark.parametrize("kind, values, expected", [
    ("grid", {"num": 0}, "error: num must be in 1..256, got 0"),
    ("grid", {"num": MAX_GRID_IMAGES + 1}, "error: num must be in 1..256"),
    ("grid", {"num": 2.5}, "error: num must be a whole number, got 2.5"),
    ("grid", {"seed": -1}, "error: seed must be in 0..4294967295, got -1"),
    ("grid", {"truncation": 0}, "error: truncation must be a positive number (e.g. 1.0), got 0"),
    ("grid", {"truncation": "big"}, "error: truncation must be a positive number"),
    ("grid", {"label": 0}, "error: label was given but the checkpoint's model is unconditional"),
    ("interpolate", {"steps": 1}, "error: steps must be in 2..16, got 1"),
    ("interpolate", {"rows": 17}, "error: rows must be in 1..16, got 17"),
])
def test_bad_values_are_one_line_errors(web, uncond, kind, values, expected):
    base, _ = web(gan=GanPanel(uncond))
    status, body, _ = post(base, kind, **values)
    assert status == 400 and body["error"].startswith(expected) and "\n" not in body["error"]


def test_a_class_out_of_range_names_the_classes(web, cond):
    base, _ = web(gan=GanPanel(cond))
    status, body, _ = post(base, "grid", label=3)
    assert status == 400 and body["error"] == ("error: label 3 is out of range: the model has "
                                               "classes 0..2")


def test_not_json_is_an_error(web, uncond):
    base, _ = web(gan=GanPanel(uncond))
    status, body, _ = call(f"{base}/api/gan/grid", data=b"{oops", method="POST")
    assert status == 400 and body["error"] == "error: the GAN request is not JSON"


def test_a_bad_gan_checkpoint_stops_the_server_before_it_listens(tmp_path, capsys):
    bad = tmp_path / "g.pdparams"
    bad.write_bytes(b"not a checkpoint")
    code = web_main(["--gan_checkpoint", str(bad), "--port", "0"])
    captured = capsys.readouterr()
    assert code == 2 and "serving on" not in captured.out
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "g.pdparams" in lines[0]
