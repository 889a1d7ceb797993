"""Config loading, defaults, -o overrides (YAML-typed, strict keys), malformed YAML."""
import re
from pathlib import Path

import pytest
import yaml

from ppgan_app.utils.config import (DEFAULTS, SCHEMA, ConfigError, check_values, load_config,
                                    loader_args, merge, parse_yaml, save_config)

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))

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


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_loads_and_validates(path):
    data = yaml.safe_load(path.read_text())
    if "optimizer" in data:  # a training config
        cfg = load_config(path)
        assert cfg["total_iters"] or cfg["epochs"]
    else:  # model-only configs (inference, tests) still hold valid trainer values
        check_values(merge(DEFAULTS, data), str(path))


@pytest.mark.parametrize("item, shown, expected", [
    ("total_iters=abc", "total_iters='abc'", "an integer >= 1 and <= 1000000000 or null"),
    ("total_iters=-5", "total_iters=-5", "an integer >= 1 and <= 1000000000 or null"),
    ("total_iters=100000000000000000000000", "total_iters=100000000000000000000000",
     "an integer >= 1 and <= 1000000000"),  # refused at load, not after minutes of training
    ("epochs=1.5", "epochs=1.5", "an integer >= 1 and <= 1000000000 or null"),
    ("seed=abc", "seed='abc'", "an integer >= 0 and <= 4294967295 or null"),
    ("seed=-1", "seed=-1", "an integer >= 0"),
    ("seed=true", "seed=true", "an integer >= 0"),
    ("output_dir=null", "output_dir=null", "a non-empty string"),
    ("dataset.train.batch_size=0", "dataset.train.batch_size=0", "an integer >= 1"),
    ("dataset.train.batch_size=null", "dataset.train.batch_size=null", "an integer >= 1"),
    ("dataset.train.num_workers=-1", "dataset.train.num_workers=-1", "an integer >= 0"),
    ("dataset.train.shuffle=often", "dataset.train.shuffle='often'", "true or false or null"),
    ("log_config=3", "log_config=3", "a mapping"),
    ("log_config.interval=x", "log_config.interval='x'", "an integer >= 0 and <= 1000000000 or null"),
    ("log_config.visual_interval=-2", "log_config.visiual_interval=-2", "an integer >= 0 and <= 1000000000 or null"),
    ("snapshot_config.interval=often", "snapshot_config.interval='often'", "an integer >= 0 and <= 1000000000 or null"),
    ("snapshot_config.max_keep=[1]", "snapshot_config.max_keep=[1]", "an integer >= 0 and <= 1000000000 or null"),
    ("validate.interval=often", "validate.interval='often'", "an integer >= 0 and <= 1000000000 or null"),
    ("validate.save_img=3", "validate.save_img=3", "true or false"),
    ("enable_visualdl=maybe", "enable_visualdl='maybe'", "true or false"),
    ("max_param_abs=0", "max_param_abs=0", "a number >= 1 or null"),
    ("max_param_abs=.nan", "max_param_abs=nan", "a number >= 1 or null"),
    ("nan_policy=ignore", "nan_policy='ignore'", "one of stop, skip"),
    ("nan_policy=null", "nan_policy=null", "one of stop, skip"),
])
def test_bad_values_name_the_key_value_and_expectation(cfg_file, item, shown, expected):
    with pytest.raises(ConfigError) as err:
        load_config(cfg_file, [item])
    message = str(err.value)
    assert f"{shown} is not valid: expected {expected}" in message and "\n" not in message


def test_schema_names_only_known_keys():
    for dotted in SCHEMA:
        assert dotted.split(".")[0] in DEFAULTS, dotted


def test_good_values_pass(cfg_file):
    cfg = load_config(cfg_file, ["total_iters=3", "seed=0", "snapshot_config.max_keep=null",
                                 "dataset.train.num_workers=2", "max_param_abs=1e12", "validate.interval=0",
                                 "nan_policy=skip"])
    assert cfg["total_iters"] == 3 and cfg["max_param_abs"] == 1e12


@pytest.mark.parametrize("override", ["total_iters=100000000000000000000000", "epochs=10000000000",
                                      "log_config.interval=99999999999999999999", "dataset.train.batch_size=10000000"])
def test_values_beyond_their_bound_are_refused_at_load(override):
    config = Path(__file__).resolve().parents[2] / "configs" / "dcgan_fashion_mnist.yaml"
    key = override.split("=")[0]
    with pytest.raises(ConfigError, match=rf"{re.escape(key)}=\d+ is not valid: expected an integer >= \d and <= \d+"):
        load_config(config, [override])
