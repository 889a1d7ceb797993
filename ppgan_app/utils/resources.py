"""Locate files shipped with the package (configs), in a wheel or an editable install."""
from __future__ import annotations

from pathlib import Path
from typing import List

_PACKAGE_DIR = Path(__file__).resolve().parent.parent          # .../ppgan_app


def config_dirs() -> List[Path]:
    """Folders searched for packaged configs, first match wins.

    ``ppgan_app/configs`` (where ``package_data`` puts them in a built wheel), then the
    repository's top-level ``configs/`` (an editable install or a source checkout).
    """
    return [_PACKAGE_DIR / "configs", _PACKAGE_DIR.parent / "configs"]


def packaged_config(name: str) -> Path:
    """Path of a packaged config such as ``"firstorder_vox_256.yaml"`` (suffix optional).

    Raises:
        FileNotFoundError: naming the folders searched.
    """
    filename = name if name.endswith((".yaml", ".yml")) else name + ".yaml"
    for folder in config_dirs():
        candidate = folder / filename
        if candidate.is_file():
            return candidate
    searched = ", ".join(str(d) for d in config_dirs())
    raise FileNotFoundError(f"packaged config {filename!r} not found (searched {searched})")
