"""ppgan_app.apps.gan.sampler and tools/generate.py: a 2-iteration conditional DCGAN, then samples."""
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from ppgan_app.errors import InputError
from ppgan_app.apps.gan.sampler import generate_samples
from ppgan_app.datasets.image_folder import ImageFolderDataset
from ppgan_app.datasets.mnist import write_idx
from ppgan_app.engine import Trainer
from ppgan_app.engine.checkpoint import list_checkpoints, save_checkpoint, training_state
from ppgan_app.registries import MODELS
from ppgan_app.utils.config import load_config
from ppgan_app.utils.registry import build_from_config

REPO = Path(__file__).resolve().parents[3]
GENERATE = REPO / "tools" / "generate.py"
N_CLASS = 3


def _tiny_overrides(data: Path, out: Path) -> list:
    return [f"dataset.train.data_root={data}", f"dataset.test.data_root={data}", f"output_dir={out}",
            "total_iters=2", "seed=5", "model.init_type=null", "model.generator.nz=8", "model.generator.ngf=4",
            "model.discriminator.ndf=4", "model.num_samples=4", "dataset.train.batch_size=8",
            "validate=null", "log_config={interval: 1, visiual_interval: 0}",
            "snapshot_config={interval: 0, max_keep: 1}"]


@pytest.fixture(scope="module")
def cond_ckpt(tmp_path_factory) -> Path:
    """A checkpoint of configs/cond_dcgan_fashion_mnist.yaml (3 classes, tiny nets) after 2 iterations."""
    root = tmp_path_factory.mktemp("cond")
    data = root / "fmnist"
    data.mkdir()
    rng = np.random.RandomState(0)
    for prefix, n in (("train", 16), ("t10k", 8)):
        write_idx(str(data / f"{prefix}-images-idx3-ubyte"), rng.randint(0, 256, (n, 28, 28)).astype(np.uint8))
        write_idx(str(data / f"{prefix}-labels-idx1-ubyte"), (np.arange(n) % N_CLASS).astype(np.uint8))
    cfg = load_config(REPO / "configs" / "cond_dcgan_fashion_mnist.yaml",
                      _tiny_overrides(data, root / "out") + [f"model.generator.n_class={N_CLASS}",
                                                             f"model.discriminator.n_class={N_CLASS}"])
    trainer = Trainer(cfg, name="cond")
    trainer.train()
    trainer.close()
    return list_checkpoints(trainer.run_dir)[-1]


@pytest.fixture(scope="module")
def uncond_ckpt(tmp_path_factory) -> Path:
    """An untrained tiny unconditional DCGAN saved with the engine's checkpoint functions."""
    root = tmp_path_factory.mktemp("uncond")
    cfg = load_config(REPO / "configs" / "dcgan_fashion_mnist.yaml", _tiny_overrides(root, root))
    model = build_from_config(cfg["model"], MODELS)
    return save_checkpoint(training_state(model, 0, cfg), root / "iter_0000000_checkpoint.pdparams")


def _files(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.png"))}


def test_conditional_layout_counts_and_dataset(cond_ckpt, tmp_path):
    summary = generate_samples(cond_ckpt, tmp_path / "gen", num=5, batch_size=2, seed=1,
                               grid=tmp_path / "grid.png")
    assert summary.files == 5 * N_CLASS and summary.labels == [0, 1, 2] and summary.shape == [1, 32, 32]
    assert sorted(d.name for d in (tmp_path / "gen").iterdir()) == ["0", "1", "2"]
    for class_dir in (tmp_path / "gen").iterdir():
        assert sorted(p.name for p in class_dir.iterdir()) == [f"{i}.png" for i in range(5)]
    image = cv2.imread(str(tmp_path / "gen" / "1" / "0.png"), cv2.IMREAD_UNCHANGED)
    assert image.shape == (32, 32) and image.dtype == np.uint8
    grid = cv2.imread(str(summary.grid), cv2.IMREAD_UNCHANGED)
    assert grid.shape == (3 * 34 + 2, 5 * 34 + 2)  # one row per class, 2-pixel padding
    dataset = ImageFolderDataset(str(tmp_path / "gen"), channels=1)
    assert len(dataset) == 5 * N_CLASS and dataset.class_names == ["0", "1", "2"]
    for index in range(len(dataset)):
        item = dataset[index]
        assert int(item["class_id"]) == int(dataset.samples[index][0].parent.name)
        assert item["img"].shape == (1, 32, 32) and -1.0 <= item["img"].min() <= item["img"].max() <= 1.0


def test_same_seed_same_files_and_labels_subset(cond_ckpt, tmp_path):
    first = generate_samples(cond_ckpt, tmp_path / "a", num=3, seed=4, batch_size=256).output
    again = generate_samples(cond_ckpt, tmp_path / "b", num=3, seed=4, batch_size=256).output
    other = generate_samples(cond_ckpt, tmp_path / "c", num=3, seed=5).output
    subset = generate_samples(cond_ckpt, tmp_path / "d", num=3, seed=4, labels=[2, 0]).output
    assert _files(first) == _files(again)
    assert _files(first) != _files(other)
    assert sorted(d.name for d in subset.iterdir()) == ["0", "2"]
    assert _files(subset) == {k: v for k, v in _files(first).items() if not k.startswith("1/")}


def test_unconditional_layout(uncond_ckpt, tmp_path):
    summary = generate_samples(uncond_ckpt, tmp_path / "gen", num=12, batch_size=5, grid=tmp_path / "g.png")
    assert summary.labels is None and summary.files == 12
    assert sorted(p.name for p in (tmp_path / "gen").iterdir()) == [f"{i:02d}.png" for i in range(12)]
    assert summary.grid.is_file()


def test_grid_draws_every_image_written(uncond_ckpt, cond_ckpt, tmp_path):
    """``images --num 70 --grid`` draws 70 tiles (9 per row, 8 rows), not the first 64."""
    summary = generate_samples(uncond_ckpt, tmp_path / "u", num=70, batch_size=70,
                               grid=tmp_path / "u.png")
    side = summary.shape[-1] + 2  # tile plus padding
    height, width = cv2.imread(str(summary.grid)).shape[:2]
    assert (height, width) == (8 * side + 2, 9 * side + 2)
    summary = generate_samples(cond_ckpt, tmp_path / "c", num=10, grid=tmp_path / "c.png")
    side = summary.shape[-1] + 2
    assert cv2.imread(str(summary.grid)).shape[:2] == (N_CLASS * side + 2, 10 * side + 2)
    with pytest.raises(InputError, match="a grid holds at most 1024 images, 1500 asked"):
        generate_samples(cond_ckpt, tmp_path / "big", num=500, grid=tmp_path / "big.png")
    assert not (tmp_path / "big").exists()


def test_errors(cond_ckpt, uncond_ckpt, tmp_path):
    with pytest.raises(InputError, match="checkpoint not found"):
        generate_samples(tmp_path / "missing.pdparams", tmp_path / "o1", num=1)
    bare = save_checkpoint({"nets": {}}, tmp_path / "bare.pdparams")
    with pytest.raises(InputError, match="carries no config"):
        generate_samples(bare, tmp_path / "o2", num=1)
    with pytest.raises(InputError, match="unconditional"):
        generate_samples(uncond_ckpt, tmp_path / "o3", num=1, labels=[0])
    with pytest.raises(InputError, match=r"out of range.*0\.\.2"):
        generate_samples(cond_ckpt, tmp_path / "o4", num=1, labels=[1, 3])
    (tmp_path / "o5").mkdir()
    (tmp_path / "o5" / "keep.png").write_bytes(b"x")
    with pytest.raises(InputError, match="not empty"):
        generate_samples(cond_ckpt, tmp_path / "o5", num=1)



def test_generator_weights_that_do_not_fit_name_the_first_key(uncond_ckpt, tmp_path):
    import paddle

    state = paddle.load(str(uncond_ckpt))
    key = sorted(state["nets"]["netG"])[0]
    del state["nets"]["netG"][key]
    short = save_checkpoint(state, tmp_path / "short.pdparams")
    with pytest.raises(InputError, match=f"netG weights of .* 1 mismatched key.*first: missing {key}"):
        generate_samples(short, tmp_path / "o", num=1)


def test_cli_summary_and_one_line_error(cond_ckpt, tmp_path):
    run = [sys.executable, str(GENERATE), "--checkpoint", str(cond_ckpt), "--num", "2",
           "--output", str(tmp_path / "gen")]
    ok = subprocess.run(run + ["--labels", "1", "--seed", "3"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert ok.stdout.strip() == f"wrote 2 images for classes [1] to {tmp_path / 'gen'}"
    missing = [sys.executable, str(GENERATE), "--checkpoint", str(tmp_path / "nope.pdparams"),
               "--num", "2", "--output", str(tmp_path / "o")]
    bad = subprocess.run(missing, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    errors = [line for line in bad.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "checkpoint not found" in errors[0]


def test_raw_generator_on_request(tmp_path):
    """``use_ema=False`` samples with netG even when the checkpoint keeps an EMA copy."""
    from ppgan_app.apps.gan.sampler import generate_array, load_generator_model

    cfg = load_config(REPO / "configs" / "dcgan_fashion_mnist.yaml",
                      _tiny_overrides(tmp_path, tmp_path) + ["model.ema_decay=0.9"])
    model = build_from_config(cfg["model"], MODELS)
    for p in model.nets["netG"].parameters():  # make raw and EMA weights differ
        p.set_value(p * 1.5)
    path = save_checkpoint(training_state(model, 0, cfg), tmp_path / "iter_0000000_checkpoint.pdparams")
    ema, raw = load_generator_model(path), load_generator_model(path, use_ema=False)
    assert "netG_ema" in ema.nets and "netG_ema" not in raw.nets and raw.sampling_net is raw.nets["netG"]
    assert not np.allclose(generate_array(ema, 4, seed=0), generate_array(raw, 4, seed=0))


def test_a_grid_of_too_many_images_is_refused_before_loading(tmp_path):
    from ppgan_app.apps.gan.sampler import MAX_GRID_IMAGES, sample_grid

    with pytest.raises(InputError, match=f"--num 100000000 is too many for one grid picture \\(at most {MAX_GRID_IMAGES}\\)"):
        sample_grid(tmp_path / "never_read.pdparams", tmp_path / "grid.png", num=100_000_000)
