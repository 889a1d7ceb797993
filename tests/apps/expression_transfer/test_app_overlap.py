"""The demo's background stage (composite + encode while the network animates) changes no
frame: the same video as with the benches' inline stage, which does the work at once."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

_HARNESS = Path(__file__).resolve().parents[3] / "bench" / "harness.py"
_spec = importlib.util.spec_from_file_location("bench_harness", _HARNESS)
_harness = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_harness)
def test_demo_frames_same_as_without_the_worker_thread(tmp_path, media, fake_animator, monkeypatch):
    from ppgan_app.apps import FirstOrderPredictor
    from ppgan_app.apps.expression_transfer import predictor as predictor_module
    from ppgan_app.media.video import VideoReader

    def run(folder):
        return np.stack(list(VideoReader(FirstOrderPredictor(
            output=str(tmp_path / folder), animator=fake_animator, progress=False, relative=True,
            batch_size=3).run(media["portrait"], media["clip"]))))

    threaded = run("threaded")
    monkeypatch.setattr(predictor_module, "OrderedStage", _harness.InlineStage)
    inline = run("inline")
    assert len(threaded) == 12 and np.array_equal(threaded, inline)
    assert np.abs(np.diff(threaded.astype(float), axis=0)).mean(axis=(1, 2, 3)).min() > 0
