"""Config loading, defaults, -o overrides (YAML-typed, strict keys), malformed YAML."""
from pathlib import Path

import pytest
import yaml

from ppgan_app.utils.config import (DEFAULTS, ConfigError, load_config, loader_args, parse_yaml,
                                    save_config)

BASE = """\
epochs: 2
model:
  name: DCGANModel
  generator: {name: DCGANGenerator, nz: 100}
dataset:
  train: {name: MNISTDataset, data_root: data/mnist, batch_size: 64}
optimizer:
  optimG: {name: Adam, net_names: [netG], beta1: 0.5}
lr_scheduler: {name: LinearDecay, learning_rate: 2e-4, start_epoch: 1, decay_epochs: 1}
log_config: {interval: 10, visual_interval: 50}
"""


@pytest.fixture
def cfg_file(tmp_path: Path) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(BASE)
    return path


def test_load_merges_defaults(cfg_file):
    cfg = load_config(cfg_file)
    assert cfg["snapshot_config"] == DEFAULTS["snapshot_config"]
    assert cfg["log_config"] == {"interval": 10, "visiual_interval": 50}  # both spellings accepted
    assert cfg["lr_scheduler"]["learning_rate"] == 2e-4  # YAML 1.2 float, not the string '2e-4'
    assert cfg["total_iters"] is None and cfg["epochs"] == 2


def test_overrides_are_typed_yaml(cfg_file):
    cfg = load_config(cfg_file, [
        "total_iters=100", "model.generator.nz=16", "optimizer.optimG.beta1=0.9",
        "dataset.train.data_root=/x/y", "optimizer.optimG.net_names=[netG, netD]", "seed=null",
        "lr_scheduler.learning_rate=1e-3", "validate.interval=5", "log_config.visual_interval=7",
        "model.generator.norm=false"])
    assert cfg["total_iters"] == 100 and cfg["model"]["generator"]["nz"] == 16
    assert cfg["optimizer"]["optimG"]["beta1"] == 0.9 and cfg["optimizer"]["optimG"]["net_names"] == ["netG", "netD"]
    assert cfg["dataset"]["train"]["data_root"] == "/x/y" and cfg["seed"] is None
    assert cfg["lr_scheduler"]["learning_rate"] == 1e-3
    assert cfg["validate"]["interval"] == 5 and cfg["validate"]["metrics"] == {}
    assert cfg["log_config"]["visiual_interval"] == 7
    assert cfg["model"]["generator"]["norm"] is False  # a new kwarg inside a name: entry is allowed


@pytest.mark.parametrize("item, key", [("log_config.intervl=5", "log_config.intervl"),
                                       ("totl_iters=5", "totl_iters"),
                                       ("optimizer.optimD.beta1=0.5", "optimizer.optimD"),
                                       ("dataset.val.batch_size=2", "dataset.val")])
def test_unknown_override_key_names_it(cfg_file, item, key):
    with pytest.raises(ConfigError, match=f"unknown config key '{key}'"):
        load_config(cfg_file, [item])


def test_bad_override_form(cfg_file):
    with pytest.raises(ConfigError, match="key=value"):
        load_config(cfg_file, ["total_iters"])


def test_unknown_top_level_key_fails(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(BASE + "totl_iters: 5\n")
    with pytest.raises(ConfigError, match=r"unknown top-level key\(s\) \['totl_iters'\]"):
        load_config(path)


def test_malformed_yaml_names_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("total_iters: 3\nmodel:\n  name: [unclosed\n")
    with pytest.raises(ConfigError, match=r"malformed YAML at .*bad\.yaml:\d+:\d+"):
        load_config(path)


def test_missing_file_and_missing_required(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "none.yaml")
    path = tmp_path / "c.yaml"
    path.write_text(BASE.replace("epochs: 2\n", ""))
    with pytest.raises(ConfigError, match="total_iters"):
        load_config(path)


def test_save_config_round_trip_and_input_not_mutated(cfg_file, tmp_path):
    cfg = load_config(cfg_file)
    out = save_config(cfg, tmp_path / "run" / "config.yaml")
    assert yaml.safe_load(out.read_text()) == cfg
    entry = cfg["dataset"]["train"]
    ds, loader = loader_args(entry, train=True)
    assert loader == {"batch_size": 64, "num_workers": 0, "shuffle": True, "drop_last": True}
    assert "batch_size" not in ds and entry["batch_size"] == 64


def test_yaml_floats():
    assert parse_yaml("[1e-4, 3, .5, 1.0, abc, '2e-4', 1_000]") == [1e-4, 3, 0.5, 1.0, "abc", "2e-4", 1000]


def test_test_set_shares_the_train_data_folder(tmp_path: Path):
    text = BASE.replace("dataset:\n", "dataset:\n  test: {name: MNISTDataset, mode: test}\n")
    path = tmp_path / "c.yaml"
    path.write_text(text)
    moved = load_config(path, ["dataset.train.data_root=/data/elsewhere"])
    assert moved["dataset"]["test"]["data_root"] == "/data/elsewhere"
    own = load_config(path, ["dataset.train.data_root=/a", "dataset.test.data_root=/b"])
    assert own["dataset"]["test"]["data_root"] == "/b"
    other = load_config(path, ["dataset.test.name=ImageFolderDataset"])
    assert "data_root" not in other["dataset"]["test"]  # another dataset: nothing is shared
