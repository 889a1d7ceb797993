"""Read a weight file and load it into a network, checked: the one place below the apps that does it.

``read_weights`` turns an unreadable file into a ``CheckpointError``; ``load_checked`` refuses a
state dict whose keys or shapes differ from the network's (Paddle's own ``set_state_dict``
only warns), so a wrong file fails with a message instead of giving wrong numbers.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ppgan_app.errors import CheckpointError

logger = logging.getLogger(__name__)


def read_weights(path: str | Path, what: str) -> Any:
    """``paddle.load`` of ``path``; ``what`` names the file in errors (e.g. "classifier checkpoint").

    Raises:
        CheckpointError: missing or unreadable file.
    """
    import paddle

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{what} not found: {path}")
    try:
        return paddle.load(str(path))
    except (OSError, ValueError, EOFError, RuntimeError) as err:
        raise CheckpointError(f"cannot read {what} {path}: {err}") from None


def load_checked(net: Any, state: Mapping[str, Any], what: str, ignore: tuple = ()) -> None:
    """Load ``state`` into ``net`` when every key and shape matches (keys in ``ignore`` are skipped).

    Raises:
        CheckpointError: missing or unexpected keys, or wrong shapes (the first few are named).
    """
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{what}: expected a state dict, got {type(state).__name__}")
    expected = {k: list(v.shape) for k, v in net.state_dict().items()}
    got = {k: list(np.shape(v)) for k, v in state.items() if k not in ignore}
    if got != expected:
        missing = sorted(set(expected) - set(got))
        unexpected = sorted(set(got) - set(expected))
        wrong = sorted(k for k in set(expected) & set(got) if expected[k] != got[k])
        raise CheckpointError(f"{what} does not fit the network: {len(missing)} missing "
                              f"{missing[:2]}, {len(unexpected)} unexpected {unexpected[:2]}, "
                              f"{len(wrong)} with wrong shapes {wrong[:2]}")
    net.set_state_dict({k: v for k, v in state.items() if k not in ignore})
