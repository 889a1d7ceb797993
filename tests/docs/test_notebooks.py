"""The notebooks in docs/notebooks run headless (nbclient + ipykernel) from top to bottom with
tiny models put in through their parameter cell, show what they promise, and are stored
without outputs."""
import base64
import glob
import io
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "docs" / "notebooks").glob("*.ipynb"))
WIDGET = "application/vnd.jupyter.widget-view+json"

nbformat = pytest.importorskip("nbformat", reason="pip install -r requirements.txt (nbformat)")
nbclient = pytest.importorskip("nbclient", reason="pip install -r requirements.txt (nbclient)")


def run_notebook(path: Path, parameters: dict, workdir: Path):
    """Execute ``path`` with ``parameters`` in a cell right after its ``parameters`` cell."""
    nb = nbformat.read(str(path), as_version=4)
    index = next(i for i, cell in enumerate(nb.cells)
                 if "parameters" in cell.metadata.get("tags", []))
    injected = nbformat.v4.new_code_cell("\n".join(f"{k} = {v!r}" for k, v in parameters.items()))
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(index + 1, injected)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(workdir)}})
    client.execute()
    return nb


def outputs(cell, kind=None):
    return [o for o in cell.get("outputs", []) if kind is None or kind in o.get("data", {})]


def cell_with(nb, text):
    return next(c for c in nb.cells if c.cell_type == "code" and text in c.source)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_stored_without_outputs(path):
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    assert sum("parameters" in c.metadata.get("tags", []) for c in code) == 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_commands_use_the_kernels_python_and_nothing_is_installed_by_default(path):
    nb = nbformat.read(str(path), as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert not [ln for ln in code.splitlines() if ln.lstrip().startswith("!")]  # no shell escapes
    assert "cmd = [sys.executable, *map(str, args)]" in code and "raise RuntimeError" in code
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert 'INSTALL = "auto"' in params.source


def repo_state() -> str:
    """Every change to the checkout, untracked files included (ignored ones excluded)."""
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=REPO,
                          capture_output=True, text=True, check=True).stdout


def short_sample(folder: Path) -> str:
    """The bundled driving clip cut to 10 frames (keeps its sound): a quick driving video."""
    import imageio_ffmpeg

    from ppgan_app.apps.expression_transfer.predictor import sample_paths

    out = folder / "short.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", sample_paths()[1],
                    "-frames:v", "10", "-c:v", "libx264", "-c:a", "aac", str(out)], check=True)
    return str(out)


def test_expression_transfer_notebook(tmp_path, tiny_fomm, tiny_sr_run, ffprobe):
    from PIL import Image

    output = tmp_path / "out"
    before = repo_state()
    nb = run_notebook(REPO / "docs" / "notebooks" / "expression_transfer.ipynb", {
        "REPO": str(REPO), "INSTALL": False, "WEIGHT_PATH": tiny_fomm["weights"],
        "CONFIG": tiny_fomm["config"], "IMAGE_SIZE": 64, "DRIVING_VIDEO": short_sample(tmp_path),
        "OUTPUT": str(output),
        "SR_WEIGHTS": str(next(tiny_sr_run.glob("iter_0000004_checkpoint.pdparams")))}, tmp_path)

    cli_cell = cell_with(nb, "first-order-demo.py")
    cli = "".join(o.get("text", "") for o in outputs(cli_cell))
    assert f"wrote {output / 'result.mp4'}: 10 frames at 25 fps" in cli
    # one quiet stream (progress updates in place), not stderr blocks
    assert {o.get("name") for o in outputs(cli_cell)} == {"stdout"}
    api = cell_with(nb, "FirstOrderPredictor(")
    assert outputs(api, WIDGET), "no tqdm notebook progress bar in the API cell"
    # the video is inline, with its sound, as an HTML5 player
    html = "".join(o["data"]["text/html"] for o in outputs(cell_with(nb, "Video("), "text/html"))
    assert "<video" in html and "controls" in html and "data:video/mp4;base64," in html
    encoded = html.split("data:video/mp4;base64,")[1].split('"')[0]
    shown = tmp_path / "shown.mp4"
    shown.write_bytes(base64.b64decode(encoded))
    assert ffprobe(str(shown)) == {"codec": "h264", "fps": 25.0, "audio": True}
    batch = "".join(o.get("text", "") for o in outputs(cell_with(nb, "run_batch(")))
    assert "FAILED: no face found" in batch and "2 of 3 portrait(s) animated" in batch
    # section 5: one still picture animated without and with super-resolution, side by side
    pair = outputs(cell_with(nb, 'super_resolution="x4"'), "image/png")
    assert pair, "the without/with super-resolution pair is not shown"
    with Image.open(io.BytesIO(base64.b64decode(pair[0]["data"]["image/png"]))) as image:
        assert image.size == (2 * 512, 512)  # two results of the 512 px sample portrait
        halves = np.asarray(image.convert("RGB"), np.int16).reshape(512, 2, 512, 3)
    assert np.abs(halves[:, 0] - halves[:, 1]).max() > 0  # same networks: only SR differs
    assert sorted(os.listdir(output)) == ["mirrored.mp4", "notebook_result.mp4",
                                          "notebook_result.png", "original.mp4", "result.mp4",
                                          "sharp.png"]
    assert repo_state() == before  # the checkout is left as it was (no portraits/ folder)
    # no red stderr blocks anywhere: the kit's messages arrive as plain lines
    streams = [o for c in nb.cells for o in c.get("outputs", []) if o["output_type"] == "stream"]
    assert streams and {o["name"] for o in streams} == {"stdout"}


def test_gan_notebook(tmp_path):
    from PIL import Image

    from ppgan_app.datasets.mnist import write_idx

    data = tmp_path / "fashion"
    data.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("train", 64), ("t10k", 32)):
        write_idx(str(data / f"{split}-images-idx3-ubyte.gz"),
                  rng.integers(0, 255, (n, 28, 28), dtype=np.uint8))
        write_idx(str(data / f"{split}-labels-idx1-ubyte.gz"),
                  rng.integers(0, 10, (n,), dtype=np.uint8))
    runs = tmp_path / "runs"
    nb = run_notebook(REPO / "docs" / "notebooks" / "gan_training.ipynb", {
        "REPO": str(REPO), "INSTALL": False, "DATA_ROOT": str(data), "ITERS": 3,
        "OUTPUT_DIR": str(runs), "EXTRA": ["dataset.train.batch_size=8"], "STEPS": 6}, tmp_path)

    assert len(glob.glob(str(runs / "*" / "iter_0000003_checkpoint.pdparams"))) == 1
    grid = outputs(cell_with(nb, "ShowImage(grid)"), "image/png")
    assert grid, "the sample grid is not shown"
    strip = outputs(cell_with(nb, "ShowImage(strip)"), "image/png")
    assert strip, "the interpolation strip is not shown"
    with Image.open(io.BytesIO(base64.b64decode(strip[0]["data"]["image/png"]))) as image:
        assert image.size == (6 * 34 + 2, 2 * 34 + 2)  # 2 walks of 6 images, 32 px, 2 px padding


def test_a_failed_command_stops_the_notebook_with_its_own_error(tmp_path):
    with pytest.raises(nbclient.exceptions.CellExecutionError) as err:
        run_notebook(REPO / "docs" / "notebooks" / "gan_training.ipynb", {
            "REPO": str(REPO), "INSTALL": False, "DATA_ROOT": str(tmp_path / "nowhere"),
            "ITERS": 3, "OUTPUT_DIR": str(tmp_path / "runs"), "STEPS": 6}, tmp_path)
    message = str(err.value)
    assert "RuntimeError" in message and "tools/main.py" in message and "failed (exit 2)" in message
    assert "error:" in message  # the tool's own one-line error, carried into the notebook
    assert "IndexError" not in message  # the next cell never ran
