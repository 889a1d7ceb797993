"""Training configs: PaddleGAN's YAML layout, every trainer default, ``-o`` overrides.

A config is plain data (nested dicts, lists, scalars). ``load_config`` reads a YAML file,
merges it over ``DEFAULTS`` (the only place trainer defaults live), applies ``-o`` overrides
and checks the result. Rules:

* Top-level keys must be keys of ``DEFAULTS``; anything else fails (typos are not ignored).
* ``-o a.b.c=value`` parses ``value`` as YAML (``lr=2e-4`` is a float, ``[1, 2]`` a list,
  ``null`` is None). The dotted key must already exist after merging the defaults, except
  inside a *constructor entry* (a mapping with a ``name`` key, e.g. ``model.generator``),
  whose keys are keyword arguments: there a new key may be added, and the constructor
  rejects it if it is wrong.
* YAML is read with PyYAML's safe loader, taught YAML 1.2 floats (``1e-4`` is a float,
  not the string that YAML 1.1 makes of it).
"""
from __future__ import annotations

import copy
import re
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Dict, Iterable, Iterator, Mapping, MutableMapping, Optional, Tuple

import yaml
from ppgan_app.errors import ConfigError  # noqa: F401 - re-exported
from ppgan_app.utils.registry import KEY_ALIASES
from ppgan_app.utils.safe_files import atomic_output

# Every trainer default. ``None`` means "not set"; required keys are checked in ``validate``.
DEFAULTS: Dict[str, Any] = {
    "total_iters": None,          # run length in iterations; wins over ``epochs`` when both set
    "epochs": None,               # run length in passes over the train set (PaddleGAN's key)
    "output_dir": "output_dir",   # run folders are created under it: <config-name>-<time>
    "seed": None,                 # None: drawn at start and written to the resolved config
    "model": None,                # required: a MODELS entry (name + kwargs)
    "dataset": {"train": None, "test": None},  # DATASETS entries; loader keys below are popped
    "optimizer": None,            # one optimizer entry, or named entries with ``net_names``
    "lr_scheduler": None,         # one LRSCHEDULERS entry, or None for a constant rate
    "log_config": {
        "interval": 100,          # iterations between log lines
        "visiual_interval": 500,  # iterations between sample grids (PaddleGAN's spelling)
    },
    "snapshot_config": {
        "interval": 5000,         # iterations between checkpoints (epochs when ``epochs`` is used)
        "max_keep": 5,            # checkpoints kept in the run folder (oldest removed)
    },
    "validate": None,             # {interval, save_img, metrics: {key: METRICS entry}}
    "enable_visualdl": True,      # log to VisualDL when the package is importable
    "max_param_abs": 1.0e+8,      # a weight beyond this magnitude (or NaN/Inf) means diverged;
                                  # null checks for NaN/Inf only
    "nan_policy": "stop",         # on a non-finite loss or diverged weights: "stop" the run
                                  # (exit 3), or "skip" the batch (its update is undone; costs a
                                  # copy of weights and optimizer state per iteration; 1 process)
    "find_unused_parameters": False,  # paddle.DataParallel option (multi-process runs)
    "export_model": None,         # accepted for PaddleGAN configs; not used by the trainer
    "reconstruction_params": None,  # PaddleGAN FOMM keys, accepted so its configs load as they
    "animate_params": None,         # are; the trainer does not read them (reconstruction runs
    "visualizer_params": None,      # through ``validate``, animation through the predictor)
}

#: Keys naming where a dataset's files are (two spellings of one key, see
#: ``registry.KEY_ALIASES``): ``dataset.test`` takes the train set's when it sets neither, so
#: one ``-o dataset.train.dataroot=...`` moves both.
SHARED_DATA_KEYS = ("data_root", "dataroot")

LOADER_DEFAULTS: Dict[str, Any] = {  # popped from each dataset entry by the engine
    "batch_size": 1, "num_workers": 0, "shuffle": None, "drop_last": None}  # None: True for train

VALIDATE_DEFAULTS: Dict[str, Any] = {  # filled in when a config or override sets ``validate``
    "interval": 5000,             # iterations between validations (epochs when ``epochs`` is used)
    "save_img": False,            # also save the first test batch's visuals
    "metrics": {},                # key -> METRICS entry; the model's test_iter updates them
}


@dataclass(frozen=True)
class Rule:
    """What one trainer value may be: ``kind`` is ``int``, ``number``, ``bool``, ``text``,
    ``choice`` (one of ``choices``) or ``mapping``; numbers lie in [``minimum``, ``maximum``];
    ``None`` is accepted when ``optional``."""

    kind: str
    minimum: Optional[int] = None
    maximum: Optional[int] = None
    optional: bool = True
    choices: Tuple[str, ...] = ()

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.optional
        if self.kind in ("int", "number"):
            types = int if self.kind == "int" else (int, float)
            return (isinstance(value, types) and not isinstance(value, bool) and value == value
                    and (self.minimum is None or value >= self.minimum)
                    and (self.maximum is None or value <= self.maximum))
        if self.kind == "bool":
            return isinstance(value, bool)
        if self.kind == "choice":
            return value in self.choices
        if self.kind == "text":
            return isinstance(value, str) and bool(value.strip())
        return isinstance(value, Mapping)

    def expected(self) -> str:
        if self.kind in ("int", "number"):
            low = "" if self.minimum is None else f" >= {self.minimum}"
            high = "" if self.maximum is None else f" and <= {self.maximum}"
            text = f"{'an integer' if self.kind == 'int' else 'a number'}{low}{high}"
        else:
            text = {"bool": "true or false", "text": "a non-empty string",
                    "choice": "one of " + ", ".join(self.choices),
                    "mapping": "a mapping (key: value entries)"}[self.kind]
        return text + (" or null" if self.optional else "")


#: Type and range of every trainer value, by dotted key (``*``: any key at that level, e.g.
#: both ``dataset.train`` and ``dataset.test``). Checked by ``validate`` at load time, before
#: anything is built; model, dataset and optimizer kwargs are checked by their constructors.
#: The longest run the trainer takes, in iterations (a billion: 30 years at one per second);
#: counts and intervals beyond it are typos, refused before anything is built.
MAX_ITERS = 10**9

SCHEMA: Dict[str, Rule] = {
    "total_iters": Rule("int", minimum=1, maximum=MAX_ITERS),
    "epochs": Rule("int", minimum=1, maximum=MAX_ITERS),
    "output_dir": Rule("text", optional=False),
    "seed": Rule("int", minimum=0, maximum=2**32 - 1),
    "dataset": Rule("mapping", optional=False),
    "dataset.*.batch_size": Rule("int", minimum=1, maximum=2**20, optional=False),
    "dataset.*.num_workers": Rule("int", minimum=0, maximum=1024, optional=False),
    "dataset.*.shuffle": Rule("bool"),
    "dataset.*.drop_last": Rule("bool"),
    "lr_scheduler": Rule("mapping"),
    "log_config": Rule("mapping", optional=False),
    "log_config.interval": Rule("int", minimum=0, maximum=MAX_ITERS),  # 0 or null: no log lines
    "log_config.visiual_interval": Rule("int", minimum=0, maximum=MAX_ITERS),  # 0 or null: no sample grids
    "snapshot_config": Rule("mapping", optional=False),
    "snapshot_config.interval": Rule("int", minimum=0, maximum=MAX_ITERS),  # 0 or null: only the final checkpoint
    "snapshot_config.max_keep": Rule("int", minimum=0, maximum=MAX_ITERS),  # 0 or null: keep every checkpoint
    "validate": Rule("mapping"),
    "validate.interval": Rule("int", minimum=0, maximum=MAX_ITERS),
    "validate.save_img": Rule("bool", optional=False),
    "validate.metrics": Rule("mapping"),
    "enable_visualdl": Rule("bool", optional=False),
    "find_unused_parameters": Rule("bool", optional=False),
    "max_param_abs": Rule("number", minimum=1),
    "nan_policy": Rule("choice", optional=False, choices=("stop", "skip")),
}

_FLOAT = re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.X)



class _Loader(yaml.SafeLoader):
    """The safe loader, with YAML 1.2 floats (``1e-4``, ``2E5``)."""


_Loader.yaml_implicit_resolvers = {k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
for _first in "-+0123456789.":
    _Loader.yaml_implicit_resolvers[_first] = [
        (tag, rx) for tag, rx in _Loader.yaml_implicit_resolvers.get(_first, [])
        if tag != "tag:yaml.org,2002:float"]
    _Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, [_first])


def parse_yaml(text: str, source: str = "<string>") -> Any:
    """Parse YAML text; a syntax error becomes a ``ConfigError`` naming ``source`` and the line."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"malformed YAML at {where}: {problem}") from err


def merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> Dict[str, Any]:
    """A deep copy of ``base`` updated by ``extra``; nested mappings merge key by key."""
    out = copy.deepcopy(dict(base))
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def apply_override(cfg: MutableMapping[str, Any], item: str) -> None:
    """Apply one ``a.b.c=value`` override in place (see the module docstring for the rules)."""
    if "=" not in item:
        raise ConfigError(f"override {item!r} is not of the form key=value")
    dotted, raw = item.split("=", 1)
    keys = dotted.strip().split(".")
    value = parse_yaml(raw, source=f"override {dotted}")
    node: Any = cfg
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        if isinstance(node, list):
            if not key.lstrip("-").isdigit() or not -len(node) <= int(key) < len(node):
                raise ConfigError(f"override key {dotted!r}: {key!r} is not an index of the list "
                                  f"at {'.'.join(keys[:depth]) or 'top level'}")
            key = int(key)
        elif not isinstance(node, MutableMapping):
            raise ConfigError(f"override key {dotted!r}: {'.'.join(keys[:depth])} is "
                              f"{type(node).__name__}, not a mapping")
        else:
            if key not in node and KEY_ALIASES.get(key) in node:
                key = KEY_ALIASES[key]  # -o dataset.train.data_root=... on a config saying dataroot
            if key not in node and not (last and "name" in node):
                known = ", ".join(map(str, node)) or "(empty)"
                raise ConfigError(f"unknown config key {'.'.join(keys[:depth + 1])!r} in override "
                                  f"{dotted!r}; keys here: {known}")
        if last:
            node[key] = value
        else:
            node = node[key]


def validate(cfg: Mapping[str, Any], source: str = "config") -> None:
    """Check top-level keys and the required entries; raise ``ConfigError`` otherwise."""
    unknown = sorted(set(cfg) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"{source}: unknown top-level key(s) {unknown}; known: {sorted(DEFAULTS)}")
    for key in ("model", "optimizer"):
        if not isinstance(cfg.get(key), Mapping):
            raise ConfigError(f"{source}: '{key}' must be a mapping (a 'name:' entry)")
    if not isinstance(cfg["dataset"], Mapping) or not isinstance(cfg["dataset"].get("train"), Mapping):
        raise ConfigError(f"{source}: 'dataset.train' must be a mapping (a 'name:' entry)")
    if cfg["total_iters"] is None and cfg["epochs"] is None:
        raise ConfigError(f"{source}: set 'total_iters' or 'epochs'")
    check_values(cfg, source)


def check_values(cfg: Mapping[str, Any], source: str = "config") -> None:
    """Check every value named in ``SCHEMA`` that the config holds; raise ``ConfigError``
    naming the dotted key, the value and what is expected."""
    for pattern, rule in SCHEMA.items():
        for dotted, value in _lookup(cfg, pattern.split(".")):
            if not rule.accepts(value):
                raise ConfigError(f"{source}: {dotted}={_show(value)} is not valid: expected "
                                  f"{rule.expected()}")


def _lookup(node: Any, keys: list, prefix: str = "") -> Iterator[Tuple[str, Any]]:
    """(dotted key, value) for each key path matching ``keys`` (``*`` matches any mapping key).
    Paths through a missing key or a non-mapping are skipped (their parent's rule reports them)."""
    if not keys:
        yield prefix, node
        return
    if not isinstance(node, Mapping):
        return
    head, rest = keys[0], keys[1:]
    names = [k for k, v in node.items() if isinstance(v, Mapping)] if head == "*" else [head]
    for name in names:
        if name in node:
            yield from _lookup(node[name], rest, f"{prefix}.{name}" if prefix else str(name))


def _show(value: Any) -> str:
    """A short, one-line rendering of a config value for messages."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    text = repr(value) if isinstance(value, str) else " ".join(str(_plain(value)).split())
    return text if len(text) <= 60 else text[:57] + "..."


def _normalise(cfg: Dict[str, Any]) -> Dict[str, Any]:
    """Accept ``log_config.visual_interval``; fill ``validate`` defaults when it is set."""
    log_cfg = cfg.get("log_config")
    if isinstance(log_cfg, MutableMapping) and "visual_interval" in log_cfg:
        log_cfg["visiual_interval"] = log_cfg.pop("visual_interval")
    if isinstance(cfg.get("validate"), Mapping):
        cfg["validate"] = merge(VALIDATE_DEFAULTS, cfg["validate"])
    return cfg


def load_config(path: str | Path, overrides: Iterable[str] = ()) -> Dict[str, Any]:
    """Read ``path``, merge it over ``DEFAULTS``, apply ``overrides`` and validate.

    Raises:
        ConfigError: the file is missing or malformed, a key is unknown, or a required
            entry is absent. The message is one line and names the file or the key.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    data = parse_yaml(path.read_text(encoding="utf-8"), source=str(path))
    return resolve_config(data, overrides, source=str(path))


def resolve_config(data: Any, overrides: Iterable[str] = (), source: str = "config") -> Dict[str, Any]:
    """Merge ``data`` (a parsed config) over ``DEFAULTS``, apply ``overrides``, validate."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: the top level must be a mapping, got {type(data).__name__}")
    cfg = _normalise(merge(DEFAULTS, data))
    for item in overrides:
        key = item.split("=", 1)[0].strip()
        if key == "log_config.visual_interval":
            item = "log_config.visiual_interval=" + item.split("=", 1)[1]
        if key.startswith("validate.") and cfg.get("validate") is None:
            cfg["validate"] = copy.deepcopy(VALIDATE_DEFAULTS)  # -o validate.x=... switches it on
        apply_override(cfg, item)
    cfg = _normalise(cfg)
    validate(cfg, source=source)
    _share_data_folder(cfg["dataset"])
    return cfg


def _share_data_folder(dataset_cfg: MutableMapping[str, Any]) -> None:
    """Give ``dataset.test`` the train set's data folder when it names none (same dataset)."""
    train, test = dataset_cfg.get("train"), dataset_cfg.get("test")
    if not isinstance(test, MutableMapping) or test.get("name", train["name"]) != train["name"]:
        return
    if any(key in test for key in SHARED_DATA_KEYS):  # either spelling: it names its own
        return
    for key in SHARED_DATA_KEYS:
        if key in train:
            test[key] = copy.deepcopy(train[key])


def save_config(cfg: Mapping[str, Any], path: str | Path) -> Path:
    """Write the resolved ``cfg`` as YAML (keys in their config order); return the path.

    Raises:
        OutputError: the write failed (disk full, permissions); no partial file is left.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(_plain(cfg), sort_keys=False, default_flow_style=False)
    with atomic_output(path) as tmp:  # complete or absent, never a truncated config
        tmp.write_text(text, encoding="utf-8")
    return path


def _plain(obj: Any) -> Any:
    """Convert to YAML-safe builtins (tuples to lists, numpy scalars to Python)."""
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):
        return obj.item()
    return obj


def loader_args(dataset_cfg: Mapping[str, Any], train: bool) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """Split a dataset entry into (dataset kwargs, loader kwargs with defaults filled in)."""
    ds = dict(copy.deepcopy(dataset_cfg))
    loader = {key: ds.pop(key, default) for key, default in LOADER_DEFAULTS.items()}
    for key in ("shuffle", "drop_last"):
        if loader[key] is None:
            loader[key] = train
    return ds, loader

