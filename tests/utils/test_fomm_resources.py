"""Packaged configs are found from the package (editable install: the repo's configs/)."""
from __future__ import annotations

import pytest

from ppgan_app.errors import ConfigError
from ppgan_app.models.firstorder import DEFAULT_CONFIG, fomm_model_config, load_fomm_config
from ppgan_app.utils.resources import packaged_config


def test_default_fomm_config_is_the_packaged_vox256_file():
    path = packaged_config(DEFAULT_CONFIG)
    assert path.name == "firstorder_vox_256.yaml" and path.is_file()
    model = fomm_model_config()
    assert model["common_params"]["num_kp"] == 10
    assert model["generator"]["generator_cfg"]["block_expansion"] == 64


def test_named_configs_resolve_with_or_without_suffix():
    assert packaged_config("firstorder_vox_mobile_256") == packaged_config("firstorder_vox_mobile_256.yaml")
    assert load_fomm_config("firstorder_vox_512")["dataset"]["train"]["frame_shape"] == [512, 512, 3]


def test_unknown_config_names_the_folders():
    with pytest.raises(FileNotFoundError, match="searched"):
        packaged_config("no_such_config")


def test_incomplete_model_section_is_rejected():
    with pytest.raises(ConfigError, match="kp_detector_cfg"):
        fomm_model_config({"model": {"common_params": {}, "generator": {"generator_cfg": {}}}})
