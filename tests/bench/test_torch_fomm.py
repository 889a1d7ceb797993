"""bench/torch_fomm.py: the PyTorch FOMM nets give the kit's keypoints and frames for the same
weights, and bench_engines shows its torch rows (PyTorch is optional: skipped without it)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is an optional comparison "
                            "(pip install torch to run the torch rows and these tests)")

BENCH = Path(__file__).resolve().parents[2] / "bench"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fomm"
TOLERANCE = 1e-4


@pytest.fixture
def bench_modules(monkeypatch):
    """The bench scripts import their siblings by name, as ``python bench/x.py`` does."""
    monkeypatch.syspath_prepend(str(BENCH))
    import bench_engines
    import torch_fomm

    return torch_fomm, bench_engines


PAIRS = [("tiny_config.json", "tiny_weights.pdparams"),
         ("tiny_mobile_config.json", "tiny_mobile_weights.pdparams")]


@pytest.mark.parametrize("config", [config for config, _ in PAIRS])
def test_torch_nets_match_the_kit_with_random_weights(bench_modules, config):
    torch_fomm, _ = bench_modules
    diffs = torch_fomm.parity(FIXTURES / config, seed=3, frames=2)
    assert set(diffs) == {"value", "jacobian", "prediction"}
    assert max(diffs.values()) <= TOLERANCE, diffs


@pytest.mark.parametrize("config, weights", PAIRS)
def test_torch_nets_match_the_kit_with_trained_weights(bench_modules, config, weights):
    """The fixtures' trained tiny weights move the frames with the keypoints (random weights
    barely do), so the motion path is compared too."""
    torch_fomm, _ = bench_modules
    diffs = torch_fomm.parity(FIXTURES / config, frames=2, weights=str(FIXTURES / weights))
    assert max(diffs.values()) <= TOLERANCE, diffs


def _trained_pair(config: str, weights: str):
    from ppgan_app.models.firstorder import fomm_model_config, load_fomm_config
    from ppgan_app.weights.fomm import load_fomm

    whole = load_fomm_config(FIXTURES / config)
    kp, gen, *_ = load_fomm(str(FIXTURES / weights), whole, 64)
    return fomm_model_config(whole), kp, gen


@pytest.mark.parametrize("config, weights", PAIRS)
def test_the_tolerance_sees_the_motion_model(bench_modules, config, weights):
    """Dropping the jacobians (a plausible porting slip) moves the trained nets' frames by
    several times the tolerance, so the parity check would catch it."""
    torch_fomm, _ = bench_modules
    engine = torch_fomm.TorchEngine(*torch_fomm.torch_from_paddle(*_trained_pair(config, weights),
                                                                  64))
    rng = np.random.default_rng(1)
    source, driving = (rng.uniform(0, 1, (n, 3, 64, 64)).astype(np.float32) for n in (1, 2))
    kp_s, kp_d = engine.kp_detector(source), engine.kp_detector(driving)
    right = engine.generator(source, kp_s, kp_d).numpy()
    no_jacobian = engine.generator(source, {"value": kp_s["value"]}, {"value": kp_d["value"]})
    assert np.abs(right - no_jacobian.numpy()).max() > 5 * TOLERANCE


def test_load_paddle_state_checks_names_and_shapes(bench_modules):
    torch_fomm, _ = bench_modules
    model_config, kp, _ = _trained_pair(*PAIRS[0])
    torch_kp, _ = torch_fomm.build_torch_fomm(model_config, 64)
    state = torch_fomm.numpy_state(kp)
    torch_fomm.load_paddle_state(torch_kp, state)
    name = next(k for k in state if k.endswith("._variance"))
    assert np.array_equal(torch_kp.state_dict()[torch_fomm.torch_key(name)].numpy(), state[name])
    with pytest.raises(KeyError, match="missing"):
        torch_fomm.load_paddle_state(torch_kp, {k: v for k, v in state.items() if k != name})
    with pytest.raises(ValueError, match="shape"):
        torch_fomm.load_paddle_state(torch_kp, {**state, name: np.ones(3, np.float32)})


def test_nets_refuse_another_frame_side(bench_modules):
    torch_fomm, _ = bench_modules
    model_config, *_ = _trained_pair(*PAIRS[0])
    torch_kp, _ = torch_fomm.build_torch_fomm(model_config, 64)
    with pytest.raises(ValueError, match=r"\[N, C, 64, 64\]"):
        torch_kp(torch.zeros(1, 3, 128, 128))


def test_bench_engines_torch_rows(bench_modules, monkeypatch, capsys):
    """The eager row is timed with its gate; a torch.compile that fails (here: made to) is a
    row that says why, and the bench goes on."""
    torch_fomm, bench_engines = bench_modules
    real_warm_up = torch_fomm.TorchEngine.warm_up

    def warm_up(self, source, frame):
        if self.name == "torch-compile":
            raise RuntimeError("InvalidCxxCompiler: No working C++ compiler found\nmore")
        return real_warm_up(self, source, frame)

    monkeypatch.setattr(torch_fomm.TorchEngine, "warm_up", warm_up)
    bench_engines.main(["--config", str(FIXTURES / "tiny_mobile_config.json"), "--image_size",
                        "64", "--rows", "torch,torch-compile", "--rounds", "1", "--frames", "1",
                        "--calibration", "0"])
    lines = capsys.readouterr().out.splitlines()
    row = next(line for line in lines if line.startswith("torch "))
    assert row.split()[-1] == "pass" and float(row.split()[-3]) > 60
    assert any(line.startswith("torch-compile") and "skipped: torch-compile failed: "
               "InvalidCxxCompiler: No working C++ compiler found" in line for line in lines)


def test_freezing_is_an_option_of_compile(bench_modules):
    torch_fomm, _ = bench_modules
    model_config, *_ = _trained_pair(*PAIRS[0])
    with pytest.raises(ValueError, match="compile"):
        torch_fomm.TorchEngine(*torch_fomm.build_torch_fomm(model_config, 64), freeze=True)
