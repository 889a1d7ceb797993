"""The OpenVINO engine: fp32 frames equal dygraph's, bf16 passes the quality gate, compiled graphs
are cached, a damaged cached export is exported again, and ``--engine auto`` picks the fastest
installed engine and says why."""
import json
import logging
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("openvino")
pytest.importorskip("paddle2onnx")

pytestmark = pytest.mark.openvino  # ordered last: see tests/conftest.py

from ppgan_app.apps.expression_transfer.fomm_animator import _pick_engine  # noqa: E402
from ppgan_app.inference import engines  # noqa: E402
from ppgan_app.inference.engines import DygraphEngine, auto_cpu_engine  # noqa: E402
from ppgan_app.inference.factory import build_engine  # noqa: E402
from ppgan_app.inference.openvino_engine import OpenVinoEngine  # noqa: E402
from ppgan_app.models.firstorder import build_fomm_networks  # noqa: E402
from ppgan_app.weights.fomm import load_fomm_checkpoint  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fomm"
GATE_DB = 40.0


@pytest.fixture(scope="module")
def tiny():
    """The seeded tiny model of the fixtures (64 px) and the bundled sample at 64 px."""
    from ppgan_app.apps.expression_transfer.predictor import read_source_image, sample_paths
    from ppgan_app.media.video import VideoReader
    import cv2

    config = json.loads((FIXTURES / "tiny_config.json").read_text())
    kp_detector, generator = build_fomm_networks({"model": config["model"]})
    load_fomm_checkpoint(str(FIXTURES / "tiny_weights.pdparams"), kp_detector, generator)
    source_path, driving_path = sample_paths()

    def square(image):
        small = cv2.resize(image, (64, 64), interpolation=cv2.INTER_AREA)
        return small.astype(np.float32).transpose(2, 0, 1) / 255.0

    frames = []
    for frame in VideoReader(driving_path):
        frames.append(square(frame))
        if len(frames) == 6:
            break
    return (config, kp_detector, generator, square(read_source_image(source_path))[None],
            np.stack(frames))


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One export cache for the module's engines (each export costs seconds)."""
    return tmp_path_factory.mktemp("openvino_cache")


def _frames(engine, source, driving):
    kp_source = engine.kp_detector(source)
    return engine.generator(source, kp_source, engine.kp_detector(driving)).numpy()


def _psnr(a, b):
    mse = ((a.astype(np.float64) - b) ** 2).reshape(len(a), -1).mean(axis=1)
    return 10 * np.log10(1.0 / np.maximum(mse, 1e-20))


def test_fp32_equals_dygraph_and_bf16_passes_the_gate(tiny, cache, tmp_path):
    config, kp_detector, generator, source, driving = tiny
    want = _frames(DygraphEngine(kp_detector, generator), source, driving)
    fp32 = build_engine("openvino", kp_detector, generator, cache_dir=cache, threads=1,
                        config=config)
    np.testing.assert_allclose(_frames(fp32, source, driving), want, atol=1e-4)
    bf16 = OpenVinoEngine(kp_detector, generator, cache, threads=1, config=config,
                          precision="bf16", compiled_cache=tmp_path / "compiled")
    got = _frames(bf16, source, driving)
    assert sorted(bf16._runners[(64, 64)]) == ["decoder", "kp_detector", "motion",
                                                "source_encoder"]
    assert _psnr(got, want).min() >= GATE_DB + 5 and np.abs(got - want).max() < 0.05
    with pytest.raises(ValueError, match="openvino engine runs precision fp32, bf16"):
        OpenVinoEngine(kp_detector, generator, tmp_path, precision="int4")


def test_twins_compile_their_own_graphs_and_run_at_once(tiny, cache):
    import threading

    config, kp_detector, generator, source, driving = tiny
    engine = build_engine("openvino", kp_detector, generator, cache_dir=cache, threads=1,
                          config=config)
    kp_source, kp_driving = engine.kp_detector(source), engine.kp_detector(driving)
    want = engine.generator(source, kp_source, kp_driving).numpy()
    twin = engine.twin()
    runners, twins = engine._runners[(64, 64)], twin._runners[(64, 64)]
    # each twin compiles its graphs again: a latency-hint graph has one stream, whose
    # requests would take turns instead of running at the same time
    assert all(twins[n].compiled is not runners[n].compiled for n in runners)
    got = {}

    def work(name, e):
        got[name] = [e.generator(source, kp_source, kp_driving).numpy() for _ in range(3)]

    threads = [threading.Thread(target=work, args=item) for item in (("a", engine), ("b", twin))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(np.array_equal(frame, want) for frames in got.values() for frame in frames)


def test_compiled_graphs_are_cached(tiny, cache, tmp_path):
    config, kp_detector, generator, source, _ = tiny
    compiled = tmp_path / "compiled"
    first = OpenVinoEngine(kp_detector, generator, cache, threads=1, config=config,
                           compiled_cache=compiled)
    first.kp_detector(source)
    blobs = sorted(p.name for p in compiled.iterdir())
    assert len(blobs) == 3                                 # kp detector, encoder, generator
    again = OpenVinoEngine(kp_detector, generator, cache, threads=1, config=config,
                           compiled_cache=compiled)
    again.kp_detector(source)
    assert sorted(p.name for p in compiled.iterdir()) == blobs      # hit: nothing new


def test_a_damaged_cached_export_is_exported_again(tiny, cache, tmp_path, caplog):
    import shutil

    config, kp_detector, generator, source, _ = tiny
    OpenVinoEngine(kp_detector, generator, cache, threads=1, config=config,
                   compiled_cache=None).kp_detector(source)
    shutil.copytree(cache, tmp_path, dirs_exist_ok=True)
    (graph,) = [p for p in tmp_path.glob("*_onnx*/generator.onnx")]
    graph.write_bytes(graph.read_bytes()[:100])
    with caplog.at_level(logging.WARNING):
        engine = OpenVinoEngine(kp_detector, generator, tmp_path, threads=1, config=config,
                                compiled_cache=None)
        engine.kp_detector(source)
    assert any("generator.onnx has 100 bytes" in r.message for r in caplog.records)
    assert graph.stat().st_size > 100


def test_auto_picks_the_first_installed_engine_that_runs_the_precision(monkeypatch, caplog):
    why = "--engine auto: openvino (the fastest CPU engine, docs/performance.md)"
    assert auto_cpu_engine("fp32") == ("openvino", why)
    with caplog.at_level(logging.INFO):
        assert _pick_engine("auto", "cpu") == "openvino"
    assert [r.message for r in caplog.records if "--engine auto" in r.message] == [why]
    if "int8" in engines.engine_precisions("openvino"):
        assert auto_cpu_engine("int8")[0] == "openvino"
    real_installed, real_library = engines.engine_installed, engines.library_installed
    monkeypatch.setattr(engines, "library_installed", lambda lib: lib != "paddle2onnx"
                        and real_library(lib))
    assert auto_cpu_engine("fp32") == ("fast", "--engine auto: fast (openvino needs "
                                               "paddle2onnx, not installed)")
    monkeypatch.setattr(engines, "library_installed", real_library)
    monkeypatch.setattr(engines, "engine_installed", lambda name: name != "openvino"
                        and real_installed(name))
    assert auto_cpu_engine("fp32") == ("fast", "--engine auto: fast (openvino not installed)")
    with pytest.raises(ValueError, match="no installed engine runs precision int8"):
        auto_cpu_engine("int8")
    monkeypatch.setattr(engines, "engine_installed", lambda name: name == "dygraph")
    assert auto_cpu_engine("fp32") == ("dygraph", "--engine auto: dygraph (openvino not "
                                                  "installed; fast not installed)")
    with pytest.raises(ValueError, match="no installed engine runs precision bf16"):
        auto_cpu_engine("bf16")
    from ppgan_app.errors import InputError
    with pytest.raises(InputError, match="--engine openvino is not installed"):
        _pick_engine("openvino", "cpu")


def test_int8_calibrates_on_the_first_frames_then_runs_the_cached_quantised_decoder(
        tiny, cache, tmp_path):
    pytest.importorskip("nncf")
    config, kp_detector, generator, source, driving = tiny
    want = _frames(DygraphEngine(kp_detector, generator), source, driving)
    int8 = OpenVinoEngine(kp_detector, generator, cache, threads=1, config=config,
                          precision="int8", compiled_cache=None, calibration_frames=3)
    kp_source = int8.kp_detector(source)
    got = np.concatenate([int8.generator(source, kp_source, int8.kp_detector(frame[None])).numpy()
                          for frame in driving])
    np.testing.assert_allclose(got[:3], want[:3], atol=1e-4)      # calibration frames: fp32
    assert _psnr(got[3:], want[3:]).min() >= GATE_DB and not np.allclose(got[3:], want[3:],
                                                                           atol=1e-5)
    (quantised,) = list(cache.glob("*_int8_nncf*/decoder_int8.xml"))
    again = OpenVinoEngine(kp_detector, generator, cache, threads=1, config=config,
                           precision="int8", compiled_cache=None, calibration_frames=3)
    first = again.generator(source, kp_source, again.kp_detector(driving[3:4])).numpy()
    np.testing.assert_allclose(first, got[3:4], atol=1e-5)          # int8 from the first frame
