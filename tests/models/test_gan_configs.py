"""Every GAN config in configs/ loads, builds its model and datasets (tiny widths, tiny idx
files written here) and trains one iteration. FOMM and SR configs are tested elsewhere
(tests/tools/test_train_fomm.py, tests/engine/test_resume_configs.py), and the augmentation
experiment's configs are not trainer configs (tests/apps/gan)."""
from pathlib import Path

import numpy as np
import pytest
import yaml

from ppgan_app.datasets.mnist import write_idx
from ppgan_app.engine.data import build_loader
from ppgan_app.registries import METRICS, MODELS
from ppgan_app.utils.config import load_config
from ppgan_app.utils.registry import build_from_config

def _is_gan_config(path: Path) -> bool:
    model = (yaml.safe_load(path.read_text()) or {}).get("model") or {}
    return model.get("name") in ("GANModel", "DCGANModel", "ConditionalGANModel")


CONFIGS = sorted(p for p in (Path(__file__).resolve().parents[2] / "configs").glob("*.yaml")
                 if _is_gan_config(p))


def write_tiny_idx(folder: Path, n: int = 8) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.RandomState(0)
    for prefix in ("train", "t10k"):
        write_idx(str(folder / f"{prefix}-images-idx3-ubyte.gz"), rng.randint(0, 256, (n, 28, 28)))
        write_idx(str(folder / f"{prefix}-labels-idx1-ubyte.gz"), np.arange(n) % 10)
    return folder


def shrink(net_cfg: dict) -> None:
    """Tiny widths, same architecture family and image size."""
    for key, value in (("ngf", 4), ("ndf", 4), ("nz", 8), ("hidden_dims", [8])):
        if key in net_cfg:
            net_cfg[key] = value


def test_there_are_gan_configs():
    names = {p.name for p in CONFIGS}
    assert {"gan_mlp_mnist.yaml", "gan_mlp_fashion_mnist.yaml", "dcgan_mnist.yaml", "dcgan_fashion_mnist.yaml",
            "wgan_gp_fashion_mnist.yaml", "cond_dcgan_fashion_mnist.yaml"} <= names


@pytest.fixture(scope="module")
def tiny_classifier(tmp_path_factory) -> Path:
    """A stand-in for the metric classifier (tools/train_classifier.py makes the real one)."""
    from ppgan_app.apps.gan.classifier import FitOptions, fit_classifier, save_classifier
    x = np.random.default_rng(0).uniform(-1, 1, (20, 1, 28, 28)).astype(np.float32)
    net = fit_classifier(x, np.arange(20) % 10, 10, FitOptions(epochs=1, batch_size=10), width=4, feature_dim=8)
    return save_classifier(net, tmp_path_factory.mktemp("clf") / "clf.pdparams", {})


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_builds_and_trains_one_iteration(path, tmp_path, tiny_classifier):
    data = write_tiny_idx(tmp_path / "data")
    cfg = load_config(path, [f"dataset.train.data_root={data}", f"dataset.test.data_root={data}",
                             "dataset.train.batch_size=4", "dataset.test.batch_size=4"])
    model_cfg = cfg["model"]
    shrink(model_cfg["generator"])
    shrink(model_cfg["discriminator"])
    model = build_from_config(model_cfg, MODELS)
    model.setup_optimizers(cfg["lr_scheduler"], cfg["optimizer"])
    loader, _ = build_loader(cfg["dataset"]["train"], train=True, seed=0)
    batch = next(iter(loader))
    assert float(batch["img"].min()) >= -1.0 and float(batch["img"].max()) <= 1.0
    model.current_iter = model_cfg.get("disc_iters", 1) - 1  # an iteration that also steps G
    model.setup_input(batch)
    model.train_iter(model.optimizers)
    assert {"D_loss", "G_loss"} <= set(model.losses)
    assert all(np.isfinite(v) for v in model.losses.values())
    entries = (cfg["validate"] or {}).get("metrics", {})
    for entry in entries.values():
        if entry["name"] == "ClassifierFeatureDistance":
            entry["checkpoint"] = str(tiny_classifier)
    metrics = {k: build_from_config(v, METRICS) for k, v in entries.items()}
    test_loader, _ = build_loader(cfg["dataset"]["test"], train=False, seed=0)
    model.setup_input(next(iter(test_loader)))
    model.test_iter(metrics)
    assert all(np.isfinite(m.accumulate()) for m in metrics.values())


def test_default_data_root_is_the_cache_and_offline_says_where(tmp_path, monkeypatch):
    import urllib.error

    from ppgan_app.errors import InputError
    from ppgan_app.utils import download

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(download.CACHE_ENV, str(tmp_path / "cache"))

    def offline(url, timeout):
        raise urllib.error.URLError("Network is unreachable")

    monkeypatch.setattr(download, "_open_url", offline)
    monkeypatch.setattr(download, "_sleep", lambda seconds: None)
    cfg = load_config(Path(__file__).resolve().parents[2] / "configs" / "dcgan_fashion_mnist.yaml")
    assert cfg["dataset"]["train"]["dataroot"] == "fashion-mnist"
    with pytest.raises(InputError, match="put them in that folder") as info:
        build_loader(cfg["dataset"]["train"], train=True, seed=0)
    assert str(tmp_path / "cache" / "datasets" / "fashion-mnist") in str(info.value)
