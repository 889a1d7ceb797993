"""Registry: register, duplicates, unknown names, default_args, config not mutated."""
import copy

import pytest

from ppgan_app.errors import ConfigError
from ppgan_app.utils.registry import Registry, build_from_config


class Thing:
    def __init__(self, size: int, items=None, parameters=None):
        self.size, self.items, self.parameters = size, items, parameters


def test_register_and_build():
    reg = Registry("things")
    reg.register(Thing)
    reg.register(name="alias")(Thing)
    assert build_from_config({"name": "Thing", "size": 2}, reg).size == 2
    assert "alias" in reg and len(reg) == 2
    assert build_from_config({"name": Thing, "size": 3}, reg).size == 3  # a class is accepted


def test_duplicate_name_is_an_error():
    reg = Registry("things")
    reg.register(Thing)
    reg.register(Thing)  # the same object again is harmless

    class Other:
        pass

    with pytest.raises(KeyError, match="already registered"):
        reg.register(Other, name="Thing")


def test_unknown_name_lists_registered():
    reg = Registry("things")
    reg.register(Thing)
    with pytest.raises(KeyError, match=r"unknown things name 'Thingy'; registered: Thing"):
        build_from_config({"name": "Thingy"}, reg)


def test_default_args_and_no_mutation():
    reg = Registry("things")
    reg.register(Thing)
    cfg = {"name": "Thing", "size": 1, "items": [1, 2]}
    before = copy.deepcopy(cfg)
    live = [object()]
    obj = build_from_config(cfg, reg, default_args={"size": 9, "parameters": live})
    assert obj.size == 1  # cfg wins over default_args
    assert obj.parameters is live  # default_args are passed as they are (e.g. parameters)
    obj.items.append(3)
    assert cfg == before


def test_bad_entries():
    reg = Registry("things")
    reg.register(Thing)
    with pytest.raises(TypeError, match="needs a 'name' key"):
        build_from_config({"size": 1}, reg)
    with pytest.raises(ConfigError, match=r"^unknown key 'colour' for things Thing; it takes: size"):
        build_from_config({"name": "Thing", "colour": 1}, reg)


def test_paddlegan_and_kit_spellings_of_the_data_folder_are_aliases():
    reg = Registry("data")

    @reg.register
    class KitData:
        def __init__(self, data_root: str) -> None:
            self.root = data_root

    @reg.register
    class PaddleData:
        def __init__(self, dataroot: str) -> None:
            self.root = dataroot

    assert build_from_config({"name": "KitData", "dataroot": "a"}, reg).root == "a"
    assert build_from_config({"name": "PaddleData", "data_root": "b"}, reg).root == "b"
    with pytest.raises(ConfigError, match="both 'dataroot' and 'data_root'"):
        build_from_config({"name": "KitData", "dataroot": "a", "data_root": "b"}, reg)
