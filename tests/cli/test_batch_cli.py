"""first-order-demo.py with several portraits: one result each, a summary table, exit 4 when
some failed, and --filename refused (it names one result)."""
import os

import numpy as np
from PIL import Image

from ppgan_app.apps.expression_transfer.predictor import sample_paths
from ppgan_app.cli.first_order import main


def _tiny(tiny_fomm):
    return ["--config", tiny_fomm["config"], "--weight_path", tiny_fomm["weights"],
            "--image_size", "64", "--engine", "dygraph", "--relative", "--quiet"]


def test_a_folder_with_a_faceless_image_writes_the_others_and_exits_4(tmp_path, capsys,
                                                                      tiny_fomm, ffprobe):
    source, _ = sample_paths()
    folder = tmp_path / "in"
    folder.mkdir()
    Image.open(source).save(folder / "woman.png")
    Image.fromarray(np.full((96, 96, 3), 200, np.uint8)).save(folder / "blank.png")
    code = main(["--source_image", str(folder), "--output", str(tmp_path / "out"),
                 *_tiny(tiny_fomm)])
    out, err = capsys.readouterr()
    assert code == 4, err
    assert sorted(os.listdir(tmp_path / "out")) == ["woman.mp4"]
    assert ffprobe(str(tmp_path / "out" / "woman.mp4")) == {"codec": "h264", "fps": 25.0,
                                                            "audio": True}
    lines = out.strip().splitlines()
    assert lines[0].split() == ["portrait", "frames", "faces", "s", "result"]
    assert lines[1].startswith("blank.png") and "FAILED: no face found" in lines[1]
    assert lines[2].startswith("woman.png") and " 100 " in lines[2]
    assert lines[-1].startswith("1 of 2 portrait(s) animated")


def test_filename_with_several_portraits_is_refused(tmp_path, capsys):
    source, _ = sample_paths()
    code = main(["--source_image", source, source, "--filename", "x.mp4",
                 "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: --filename names one")
    assert not (tmp_path / "out").exists()
