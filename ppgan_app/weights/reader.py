"""The one weights reader: read a weight file, compare it with networks, load it strictly.

Every weight file the kit reads (FOMM checkpoints, GPEN, the face detectors, Inception, the
feature classifier, and the weights a model starts training from: :func:`load_pretrained`)
goes through :func:`read_weights` and :func:`load_strict`. Paddle's own
``set_state_dict`` only warns about keys that do not fit; here any missing, unexpected or
mis-shaped key is one :class:`~ppgan_app.errors.CheckpointMismatchError` naming the count and
the first difference, and nothing is loaded. The engine's training-checkpoint reader
(:func:`ppgan_app.engine.checkpoint.load_checkpoint`) is the only other ``paddle.load``.
"""
from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any, Collection, Dict, List, Mapping, Sequence, Tuple, Union

import numpy as np
import paddle

from ppgan_app.errors import CheckpointError, CheckpointMismatchError

logger = logging.getLogger(__name__)

StateDict = Mapping[str, Any]


def _fix(hint: str) -> str:
    return f"; {hint}" if hint else ""


def read_weights(path: Union[str, Path], what: str = "weights", hint: str = "") -> Mapping[str, Any]:
    """``paddle.load`` of a weight file holding a dict (a state dict or a whole checkpoint).

    Args:
        path: the ``.pdparams`` file.
        what: names the file in errors (e.g. ``"GPEN weights"``).
        hint: the fix, appended to every error (e.g. ``"pass PaddleGAN's GPEN-512.pdparams"``).

    Raises:
        CheckpointError: missing or unreadable file, or content that is not a dict.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{what} not found: {path}{_fix(hint)}")
    try:
        state = paddle.load(str(path))
    except Exception as err:  # noqa: BLE001 - pickle, zip, OS and Paddle errors alike: not weights
        reason = " ".join(str(err).split())[:200] or type(err).__name__
        raise CheckpointError(f"cannot read {what} {path} as a Paddle checkpoint (.pdparams; or "
                              f"the file is damaged): {reason}{_fix(hint)}") from None
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{what} {path} holds a {type(state).__name__}, not a state dict"
                              f"{_fix(hint)}")
    return state


def net_states(checkpoint: Mapping[str, Any], names: Sequence[str],
               what: str = "the checkpoint") -> Dict[str, StateDict]:
    """``{name: state_dict}`` for ``names``, from this kit's training checkpoints (under
    ``"nets"``) or from plain ``{net: state_dict}`` files (PaddleGAN's published weights).

    Raises:
        CheckpointMismatchError: not a dict, or one of ``names`` absent.
    """
    if not isinstance(checkpoint, Mapping):
        raise CheckpointMismatchError(f"{what} is a {type(checkpoint).__name__}, not a dict of "
                                      "state dicts")
    source = checkpoint.get("nets", checkpoint)
    absent = [name for name in names if not isinstance(source.get(name), Mapping)]
    if absent:
        raise CheckpointMismatchError(
            f"{what} has no {absent} state dicts; top-level keys: {sorted(map(str, checkpoint))}"
            + (f", nets: {sorted(map(str, source))}" if source is not checkpoint else ""))
    return {name: source[name] for name in names}


def _shape(value: Any) -> Tuple[int, ...]:
    return tuple(int(d) for d in (value.shape if hasattr(value, "shape") else np.shape(value)))


def state_dict_mismatch(layer: paddle.nn.Layer, state: StateDict
                        ) -> Tuple[List[str], List[str], List[str]]:
    """Compare ``state`` with ``layer.state_dict()``.

    Returns:
        ``(missing, unexpected, mis_shaped)``, each sorted; mis-shaped entries read
        ``"key: checkpoint [..] vs network [..]"``.
    """
    expected = layer.state_dict()
    missing = sorted(k for k in expected if k not in state)
    unexpected = sorted(k for k in state if k not in expected)
    mis_shaped = sorted(
        f"{k}: checkpoint {list(_shape(state[k]))} vs network {list(_shape(expected[k]))}"
        for k in expected if k in state and _shape(state[k]) != _shape(expected[k]))
    return missing, unexpected, mis_shaped


def mismatches(nets: Mapping[str, paddle.nn.Layer], states: Mapping[str, StateDict],
               may_lack: Tuple[str, ...] = (), ignore: Collection[str] = ()
               ) -> List[Tuple[str, str, str]]:
    """Every difference between ``states`` and ``nets`` as ``(net, kind, key)``, kind one of
    ``missing``, ``unexpected``, ``mis-shaped`` (per net in that order).

    Args:
        may_lack: key suffixes a state dict may lack (buffers the network rebuilds itself).
        ignore: keys of the state dicts that are not the network's and are dropped.
    """
    problems: List[Tuple[str, str, str]] = []
    for name, net in nets.items():
        state = {k: v for k, v in states[name].items() if k not in ignore}
        missing, unexpected, mis_shaped = state_dict_mismatch(net, state)
        missing = [k for k in missing if not (may_lack and k.endswith(may_lack))]
        for kind, keys in (("missing", missing), ("unexpected", unexpected),
                           ("mis-shaped", mis_shaped)):
            problems += [(name, kind, key) for key in keys]
    return problems


def load_nets_strict(nets: Mapping[str, paddle.nn.Layer], states: Mapping[str, StateDict],
                     what: str, target: str = "the network", hint: str = "",
                     may_lack: Tuple[str, ...] = (), ignore: Collection[str] = ()) -> None:
    """Load ``states[name]`` into each ``nets[name]`` when every key and shape fits.

    Args:
        what: the weights, named in the error (``"GPEN weights file <path>"``).
        target: the networks, named in the error (``"GPEN(size=512)"``).
        hint: the fix, appended to the error.
        may_lack, ignore: see :func:`mismatches`.

    Raises:
        CheckpointMismatchError: one line, ``<what> does not fit <target>: N mismatched
            key(s), first[:] [<net>: ]<problem> (counts per kind)``; ``details`` lists every problem as
            ``"[<net>: ]<kind> <key>"`` (no prefix for a net named ``""``). Nothing is loaded.
    """
    problems = mismatches(nets, states, may_lack, ignore)
    if problems:
        lines = [f"{net}: {kind} {key}" if net else f"{kind} {key}" for net, kind, key in problems]
        logger.debug("weight mismatches:\n  %s", "\n  ".join(lines))
        count = Counter(kind for _, kind, _ in problems)
        first = f"first {lines[0]}" if problems[0][0] else f"first: {lines[0]}"
        raise CheckpointMismatchError(
            f"{what} does not fit {target}: {len(lines)} mismatched key(s), {first} "
            f"({count['missing']} missing and {count['unexpected']} unexpected keys, "
            f"{count['mis-shaped']} wrong shapes){_fix(hint)}", details=lines)
    for name, net in nets.items():
        state = {k: v for k, v in states[name].items() if k not in ignore}
        if may_lack:     # the buffers it may lack keep the network's own values
            state = {**net.state_dict(), **state}
        net.set_state_dict(state)


def load_strict(net: paddle.nn.Layer, state: StateDict, what: str, target: str = "the network",
                hint: str = "", may_lack: Tuple[str, ...] = (), ignore: Collection[str] = ()) -> None:
    """:func:`load_nets_strict` for one network."""
    if not isinstance(state, Mapping):
        raise CheckpointMismatchError(f"{what}: expected a state dict, got {type(state).__name__}"
                                      f"{_fix(hint)}")
    load_nets_strict({"": net}, {"": state}, what, target, hint, may_lack, ignore)


def load_pretrained(model: Any) -> int:
    """Fill the networks ``model.pretrained_weights()`` lists (see
    :class:`ppgan_app.models.pretrained.PretrainedWeights`), strictly; each file is resolved
    and read once. Returns the number of networks filled.

    Raises:
        WeightsUnavailableError: a known name that is neither cached nor downloadable.
        CheckpointError: an unreadable file, or weights that do not fit their network.
    """
    from ppgan_app.utils.download import resolve_weights

    files: Dict[str, Tuple[Path, Mapping[str, Any]]] = {}
    wanted = model.pretrained_weights()
    for request in wanted:
        if request.source not in files:
            path = Path(resolve_weights(str(request.source)))
            files[request.source] = (path, read_weights(path, request.what))
        path, content = files[request.source]
        what = f"{request.what} {path}"
        state = net_states(content, [request.net], what)[request.net] if request.net else content
        if request.convert is not None:
            state = request.convert(state)
        load_strict(request.layer, state, what, f"its {type(request.layer).__name__}")
        logger.info("loaded %s%s", what, f" ({request.net})" if request.net else "")
    return len(wanted)
