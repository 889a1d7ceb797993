"""Export rewrites are exact: each rewritten block, and the fast engine on full and mobile nets."""
from __future__ import annotations

import copy

import numpy as np
import paddle
import pytest

from ppgan_app.inference import build_engine
from ppgan_app.inference.rewrites import (ChannelAffine, PhaseUpBlock, SeparableAntiAlias,
                                          interleave_phases, is_mobile_up_block,
                                          is_preactivation_res_block, is_separable_anti_alias,
                                          phase_kernels_from_up2_dwconv, rewritten_copy)
from ppgan_app.models.firstorder import (build_fomm_networks, load_fomm_config,
                                        randomize_fomm_weights)
from ppgan_app.models.firstorder.blocks import (AntiAliasInterpolation2d, MobileResBlock2d,
                                           MobileUpBlock2d, ResBlock2d, upsample_nearest2x)

EXACT = 1e-5          # the bar for every rewrite (fp32, max abs diff vs dygraph)
SIZE = 64
TINY = load_fomm_config("firstorder_tiny_64")


def tiny_config(mobile: bool) -> dict:
    config = copy.deepcopy(TINY)
    if mobile:
        generator = config["model"]["generator"]
        generator["kp_detector_cfg"]["mobile_net"] = True
        generator["generator_cfg"]["mobile_net"] = True
    return config


def random_setup(config: dict, seed: int):
    """Networks with seeded random weights and a source ``[1,3,S,S]`` + 2 driving frames in [0, 1]."""
    kp_detector, generator = build_fomm_networks(config, inference=True)
    randomize_fomm_weights(kp_detector, np.random.default_rng(seed), bias_std=0.05)
    randomize_fomm_weights(generator, np.random.default_rng(seed + 1), bias_std=0.05)
    rng = np.random.default_rng(seed + 2)
    source = rng.uniform(0, 1, (1, 3, SIZE, SIZE)).astype("float32")
    driving = rng.uniform(0, 1, (2, 3, SIZE, SIZE)).astype("float32")
    return kp_detector, generator, source, driving


def _max_diff(a, b) -> float:
    return float(np.abs(np.asarray(a) - np.asarray(b)).max())


def test_phase_kernels_equal_upsample_then_depthwise_conv():
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(3, 1, 3, 3)).astype("float32")
    x = paddle.to_tensor(rng.normal(size=(2, 3, 5, 7)).astype("float32"))
    expected = paddle.nn.functional.conv2d(upsample_nearest2x(x), paddle.to_tensor(weight),
                                           padding=1, groups=3)
    kernel = paddle.to_tensor(phase_kernels_from_up2_dwconv(weight).astype("float32"))
    phases = paddle.nn.functional.conv2d(x, kernel, padding=1, groups=3)   # [N, 4C, H, W]
    # channel 4c + 2a + b -> phase-major (2a + b) * C + c, then interleave
    phase_major = phases.reshape([2, 3, 4, 5, 7]).transpose([0, 2, 1, 3, 4]).reshape([2, 12, 5, 7])
    assert _max_diff(interleave_phases(phase_major, 3).numpy(), expected.numpy()) <= EXACT
    with pytest.raises(ValueError):
        phase_kernels_from_up2_dwconv(np.zeros((3, 2, 3, 3)))


@pytest.mark.parametrize("shape", [(2, 6, 7, 9), (1, 16, 2, 2)])
def test_phase_up_block_equals_mobile_up_block(shape):
    block = MobileUpBlock2d(shape[1], 5)
    randomize_fomm_weights(block, np.random.default_rng(1), bias_std=0.05)
    block.eval()
    assert is_mobile_up_block(block)
    x = paddle.to_tensor(np.random.default_rng(2).uniform(-1, 1, shape).astype("float32"))
    with paddle.no_grad():
        got, expected = PhaseUpBlock(block)(x), block(x)
    assert tuple(got.shape) == (shape[0], 5, 2 * shape[2], 2 * shape[3])
    assert _max_diff(got.numpy(), expected.numpy()) <= EXACT


@pytest.mark.parametrize("scale, mobile, shape", [(0.25, False, (2, 3, 64, 48)),
                                                  (0.25, True, (1, 3, 64, 64)),
                                                  (0.5, False, (1, 3, 30, 17)),
                                                  (1.0, False, (1, 3, 8, 8))])
def test_separable_anti_alias_equals_blur_then_pick(scale, mobile, shape):
    layer = AntiAliasInterpolation2d(3, scale, mobile_net=mobile)
    assert is_separable_anti_alias(layer)
    x = paddle.to_tensor(np.random.default_rng(9).uniform(0, 1, shape).astype("float32"))
    got, expected = SeparableAntiAlias(layer)(x), layer(x)
    assert got.shape == expected.shape
    assert _max_diff(got.numpy(), expected.numpy()) <= 1e-6


def test_a_kernel_that_is_not_separable_is_left_alone():
    layer = AntiAliasInterpolation2d(3, 0.25)
    weight = layer.weight.numpy()
    weight[:, :, 0, 1] += 0.01                                   # no longer outer(k, k)
    layer.weight.set_value(weight)
    assert not is_separable_anti_alias(layer)
    with pytest.raises(ValueError, match="not a separable Gaussian"):
        SeparableAntiAlias(layer)


@pytest.mark.parametrize("block_type", [ResBlock2d, MobileResBlock2d])
def test_preactivation_norm_as_depthwise_conv_is_exact(block_type):
    block = block_type(6, kernel_size=3, padding=1)
    randomize_fomm_weights(block, np.random.default_rng(10), bias_std=0.05)
    block.eval()
    assert is_preactivation_res_block(block)
    x = paddle.to_tensor(np.random.default_rng(11).normal(size=(2, 6, 5, 7)).astype("float32"))
    with paddle.no_grad():
        expected = block(x).numpy()
        norm = block.norm1(x).numpy()
        clone = rewritten_copy(paddle.nn.Sequential(block))[0]   # rules match children
        assert isinstance(clone.norm1, ChannelAffine)
        assert _max_diff(clone.norm1(x).numpy(), norm) <= EXACT
        assert _max_diff(clone(x).numpy(), expected) <= EXACT


def test_mobile_rewrite_replaces_every_up_block():
    _, generator = build_fomm_networks(tiny_config(mobile=True), inference=True)
    clone = rewritten_copy(generator)
    kinds = {type(layer).__name__ for layer in clone.sublayers()}
    assert "PhaseUpBlock" in kinds and "MobileUpBlock2d" not in kinds
    assert any(type(layer).__name__ == "MobileUpBlock2d" for layer in generator.sublayers())


@pytest.mark.parametrize("mobile", [False, True], ids=["full", "mobile"])
def test_fast_engine_is_exact(mobile, tmp_path):
    config = tiny_config(mobile)
    kp_detector, generator, source, driving = random_setup(config, seed=3)
    results = []
    for engine in (build_engine("dygraph", kp_detector, generator),
                   build_engine("fast", kp_detector, generator, cache_dir=tmp_path, threads=1,
                                config=config)):
        kp_s, kp_d = engine.kp_detector(source), engine.kp_detector(driving)
        results.append((kp_d, engine.generator(source, kp_s, kp_d).numpy()))
    (kp_ref, expected), (kp_fast, got) = results
    for key in kp_ref:
        assert _max_diff(kp_fast[key].numpy(), kp_ref[key].numpy()) <= EXACT
    assert _max_diff(got, expected) <= EXACT


def test_motion_and_decoder_graphs_equal_the_generator(tmp_path):
    """The bf16 engine's split (motion fp32 + decoder), run here in fp32, is exact."""
    from ppgan_app.inference.export import export_fomm, graph_files
    from ppgan_app.inference.paddle_inference import (GraphRunner, keypoint_arrays,
                                                      make_predictor)

    kp_detector, generator, source, driving = random_setup(TINY, seed=6)
    dygraph = build_engine("dygraph", kp_detector, generator)
    kp_s, kp_d = dygraph.kp_detector(source), dygraph.kp_detector(driving)
    expected = dygraph.generator(source, kp_s, kp_d).numpy()

    directory, info = export_fomm(kp_detector, generator, tmp_path, (SIZE, SIZE), config=TINY,
                                  split_decoder=True)
    assert set(info.graphs) == {"kp_detector", "source_encoder", "motion", "decoder"}
    runners = {name: GraphRunner(make_predictor(*graph_files(directory, name), 1),
                                 info.graphs[name], info.outputs[name])
               for name in ("source_encoder", "motion", "decoder")}
    (features,) = runners["source_encoder"](source)
    feeds = [np.repeat(source, 2, 0), np.repeat(features, 2, 0)]
    feeds += [np.repeat(a, 2, 0) for a in keypoint_arrays(kp_s)] + keypoint_arrays(kp_d)
    (deformed,) = runners["motion"](*feeds)
    (got,) = runners["decoder"](deformed)
    assert _max_diff(got, expected) <= EXACT
