"""Paths shared by the face tests (a uniquely named module: conftest names clash across folders)."""
from pathlib import Path

#: ``../shared/data/blazeface`` next to the repository (absent in a user's clone).
SHARED_BLAZEFACE = Path(__file__).resolve().parents[3] / "shared" / "data" / "blazeface"
#: Small committed fixtures made by tests/fixtures/make_face_fixtures.py.
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "faces"
