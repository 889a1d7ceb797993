"""One registry class and one builder for every configurable object in the kit.

A config entry is a mapping with a ``name`` key (a registered name, or a class/callable)
and keyword arguments for the constructor::

    cfg = {"name": "DCGANGenerator", "nz": 100, "ngf": 64}
    net = build_from_config(cfg, GENERATORS)
"""
from __future__ import annotations

import copy
import importlib
import inspect
from typing import Any, Callable, Dict, Iterator, Mapping, Optional

from ppgan_app.errors import ConfigError


class Registry:
    """Maps names to classes or factory functions.

    Args:
        name: what the registry holds, used in error messages (e.g. ``"generators"``).
        scope: a module imported before the first lookup, so that every object the
            package registers is known even if the caller imported nothing else.
    """

    def __init__(self, name: str, scope: Optional[str] = None) -> None:
        self.name = name
        self._scope = scope
        self._scope_imported = scope is None
        self._objects: Dict[str, Callable[..., Any]] = {}

    def _ensure_scope(self) -> None:
        if not self._scope_imported:
            self._scope_imported = True
            importlib.import_module(self._scope)

    def register(self, obj: Optional[Callable[..., Any]] = None, name: Optional[str] = None):
        """Register ``obj`` under ``name`` (default: its ``__name__``).

        Usable as ``@REG.register``, ``@REG.register(name="x")`` or ``REG.register(cls)``.
        Registering a second object under a taken name raises ``KeyError``.
        """

        def _add(target: Callable[..., Any]) -> Callable[..., Any]:
            key = name or target.__name__
            if key in self._objects and self._objects[key] is not target:
                raise KeyError(
                    f"{key!r} is already registered in the {self.name} registry "
                    f"(by {self._objects[key].__module__}); pick another name")
            self._objects[key] = target
            return target

        if obj is None:
            return _add
        return _add(obj)

    def get(self, name: str) -> Callable[..., Any]:
        """Return the object registered as ``name``; unknown names list what exists."""
        self._ensure_scope()
        if name not in self._objects:
            known = ", ".join(sorted(self._objects)) or "(none)"
            raise KeyError(f"unknown {self.name} name {name!r}; registered: {known}")
        return self._objects[name]

    def __contains__(self, name: str) -> bool:
        self._ensure_scope()
        return name in self._objects

    def __iter__(self) -> Iterator[str]:
        self._ensure_scope()
        return iter(sorted(self._objects))

    def __len__(self) -> int:
        self._ensure_scope()
        return len(self._objects)

    def __repr__(self) -> str:
        return f"Registry({self.name!r}, {sorted(self._objects)})"


def build_from_config(cfg: Mapping[str, Any], registry: Registry,
                      default_args: Optional[Mapping[str, Any]] = None) -> Any:
    """Build the object that ``cfg`` describes.

    Args:
        cfg: a mapping with ``name`` (registered name or a class) plus constructor kwargs.
            It is deep-copied, never mutated.
        registry: where ``name`` is looked up.
        default_args: kwargs used where ``cfg`` does not give them (``cfg`` wins); passed
            as they are (not copied), so they may be live objects such as parameters.

    A key spelled as in ``KEY_ALIASES`` (PaddleGAN's ``dataroot`` for ``data_root`` and back)
    is given to the constructor in the spelling it takes.

    Raises:
        TypeError: ``cfg`` is not a mapping or has no ``name``.
        KeyError: the name is not registered (the message lists the registered names).
        ConfigError: a key the constructor does not take (the message lists those it takes).
    """
    if not isinstance(cfg, Mapping):
        raise TypeError(f"a {registry.name} config must be a mapping with a 'name' key, got {cfg!r}")
    if "name" not in cfg:
        raise TypeError(f"a {registry.name} config needs a 'name' key; got keys {sorted(cfg)}")
    kwargs = dict(default_args or {})  # not copied: runtime objects such as parameters
    kwargs.update(copy.deepcopy(dict(cfg)))
    target = kwargs.pop("name")
    factory = target if callable(target) else registry.get(target)
    kwargs = _check_kwargs(factory, kwargs, registry.name)
    try:
        return factory(**kwargs)
    except TypeError as err:
        raise TypeError(f"cannot build {registry.name} {getattr(factory, '__name__', factory)!s} "
                        f"from {sorted(kwargs)}: {err}") from err


#: Keys with two spellings in the field: PaddleGAN's configs say ``dataroot``, others ``data_root``.
KEY_ALIASES: Dict[str, str] = {"data_root": "dataroot", "dataroot": "data_root"}


def _check_kwargs(factory: Any, kwargs: Dict[str, Any], kind: str) -> Dict[str, Any]:
    """``kwargs`` with alias keys respelled as ``factory`` takes them; a key it does not take
    raises ``ConfigError`` naming the key and the keys it takes."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # a builtin without a signature: let the call decide
        return kwargs
    named = [n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    open_ended = any(p.kind == p.VAR_KEYWORD for p in params.values())
    out: Dict[str, Any] = {}
    for key, value in kwargs.items():
        alias = KEY_ALIASES.get(key)
        if key not in named and alias in named:
            if alias in kwargs:
                raise ConfigError(f"{kind} {_name(factory)}: both {key!r} and {alias!r} are given; "
                                  f"keep one")
            key = alias
        out[key] = value
    unknown = [k for k in out if k not in named] if not open_ended else []
    if unknown:
        raise ConfigError(f"unknown key {unknown[0]!r} for {kind} {_name(factory)}; it takes: "
                          f"{', '.join(named) or '(no keys)'}")
    return out


def _name(factory: Any) -> str:
    return str(getattr(factory, "__name__", factory))
