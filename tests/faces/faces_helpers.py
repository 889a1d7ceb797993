"""Paths shared by the face tests (a uniquely named module: conftest names clash across folders)."""
from pathlib import Path

#: ``../shared/data/blazeface`` next to the repository (absent in a user's clone).
SHARED_BLAZEFACE = Path(__file__).resolve().parents[3] / "shared" / "data" / "blazeface"
#: How to get them, for the skip messages.
BLAZEFACE_HINT = (f"BlazeFace weights not found at {SHARED_BLAZEFACE} (development data, absent in a "
                  f"user's clone); to run these tests, put PaddleGAN's blazeface.pdparams and anchors.npy "
                  f"(https://paddlegan.bj.bcebos.com/models/blazeface.pdparams and .../models/anchors.npy) "
                  f"in that folder")
#: Small committed fixtures made by tests/fixtures/make_face_fixtures.py.
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "faces"
