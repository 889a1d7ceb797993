"""The One-Euro keypoint smoother: less jitter when still, causal, chunk-independent."""
from __future__ import annotations

import numpy as np
import pytest

from ppgan_app.faces.smoothing import KeypointSmoother, OneEuroFilter, frame_to_frame_motion


def _noisy_still(frames: int = 120, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rest = np.tile(rng.uniform(-0.5, 0.5, (1, 10, 2)), (frames, 1, 1))
    return (rest + rng.normal(0, 0.01, rest.shape)).astype(np.float32)


def test_jitter_on_a_still_face_drops_by_more_than_half():
    kp = _noisy_still()
    smoothed = KeypointSmoother(25.0)(kp)
    assert frame_to_frame_motion(smoothed) < 0.5 * frame_to_frame_motion(kp)


def test_causal_and_independent_of_chunking():
    kp = {"value": _noisy_still(), "jacobian": np.tile(np.eye(2), (120, 10, 1, 1))
          + np.random.default_rng(1).normal(0, 0.02, (120, 10, 2, 2))}
    whole = KeypointSmoother(25.0)(kp)
    smoother = KeypointSmoother(25.0)
    parts = [smoother({k: v[i:i + 7] for k, v in kp.items()}) for i in range(0, 120, 7)]
    for key in kp:
        np.testing.assert_allclose(np.concatenate([p[key] for p in parts]), whole[key],
                                   atol=1e-6)
    changed = {k: v.copy() for k, v in kp.items()}
    changed["value"][60:] += 0.3  # the future changes: the past output must not
    np.testing.assert_array_equal(KeypointSmoother(25.0)(changed)["value"][:60],
                                  whole["value"][:60])


def test_fast_motion_is_followed():
    filt = OneEuroFilter(25.0)
    out = [filt(np.array([0.0 if t < 10 else 0.5])) for t in range(40)]
    assert out[0] == 0.0 and abs(out[-1][0] - 0.5) < 0.01   # converges after a jump
    assert out[12][0] > 0.25                                 # within 3 frames: half way


def test_bad_filter_settings_are_refused():
    with pytest.raises(ValueError):
        OneEuroFilter(0.0)
