"""The one weights reader: read errors, the strict load and its one-line mismatch error,
pretrained weights a model asks for, and the package's only ``paddle.load`` sites."""
from __future__ import annotations

import ast
import pickle
from pathlib import Path

import numpy as np
import paddle
import pytest

from ppgan_app.errors import CheckpointError, CheckpointMismatchError
from ppgan_app.models.firstorder.losses import VGG19
from ppgan_app.weights.reader import load_pretrained, load_strict, read_weights

PACKAGE = Path(__file__).resolve().parents[2] / "ppgan_app"
#: the weights reader, and the engine's reader of its own training checkpoints
PADDLE_LOAD_SITES = {"weights/reader.py", "engine/checkpoint.py"}


def small_net() -> paddle.nn.Layer:
    return paddle.nn.Sequential(paddle.nn.Conv2D(3, 4, 3), paddle.nn.BatchNorm2D(4))


@pytest.mark.parametrize("content, reason", [(None, "not found"), (b"not a pickle", "cannot read"),
                                             (pickle.dumps([1, 2]), "holds a list")])
def test_read_errors_are_one_line_naming_the_file(tmp_path, content, reason):
    path = tmp_path / "w.pdparams"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CheckpointError) as info:
        read_weights(path, "test weights", hint="pass the right file")
    message = str(info.value)
    assert reason in message and str(path) in message and "\n" not in message
    assert message.endswith("; pass the right file")


def test_strict_load_names_the_first_missing_key_and_loads_nothing():
    net, other = small_net(), small_net()
    state = {k: v.numpy() for k, v in other.state_dict().items()}
    del state["0.bias"]
    state["extra"] = np.zeros([2], "float32")
    before = net.state_dict()["0.weight"].numpy().copy()
    with pytest.raises(CheckpointMismatchError) as info:
        load_strict(net, state, "the file x.pdparams", "the small net", hint="use y")
    assert str(info.value) == ("the file x.pdparams does not fit the small net: 2 mismatched "
                               "key(s), first: missing 0.bias (1 missing and 1 unexpected keys, "
                               "0 wrong shapes); use y")
    assert info.value.details == ["missing 0.bias", "unexpected extra"]
    np.testing.assert_array_equal(net.state_dict()["0.weight"].numpy(), before)
    load_strict(net, state, "x", may_lack=("0.bias",), ignore=("extra",))   # both allowed
    np.testing.assert_array_equal(net.state_dict()["0.weight"].numpy(), state["0.weight"])


class _Holder:
    """A model in the sense of ``load_pretrained``: it lists the weights it starts from."""

    def __init__(self, vgg: VGG19) -> None:
        self.vgg = vgg

    def pretrained_weights(self):
        return self.vgg.pretrained()


def test_vgg19_weights_are_loaded_by_the_caller_with_every_key_checked(tmp_path):
    paddle.seed(0)
    source = paddle.vision.models.vgg19(pretrained=False, num_classes=0, with_pool=False)
    path = tmp_path / "vgg19.pdparams"
    paddle.save(source.state_dict(), str(path))          # paddle.vision's keys: features.<i>.*
    vgg = VGG19(str(path))                                # builds, reads nothing
    assert not np.array_equal(vgg.state_dict()["slices.4.7.weight"].numpy(),
                              source.state_dict()["features.28.weight"].numpy())
    assert load_pretrained(_Holder(vgg)) == 1
    np.testing.assert_array_equal(vgg.state_dict()["slices.4.7.weight"].numpy(),   # conv5_1
                                  source.state_dict()["features.28.weight"].numpy())
    partial = {k: v for k, v in source.state_dict().items() if k != "features.0.weight"}
    paddle.save(partial, str(path))
    with pytest.raises(CheckpointMismatchError, match="first: missing slices.0.0.weight"):
        load_pretrained(_Holder(VGG19(str(path))))


def _paddle_load_calls(path: Path) -> int:
    calls = 0
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "paddle":
            assert all(alias.name != "load" for alias in node.names), f"{path}: from paddle import load"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "load" and isinstance(node.func.value, ast.Name) \
                and node.func.value.id == "paddle":
            calls += 1
    return calls


def test_only_the_reader_and_the_engine_call_paddle_load():
    sites = {str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if _paddle_load_calls(p)}
    assert sites == PADDLE_LOAD_SITES
