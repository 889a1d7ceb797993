"""Options stated once: a frozen dataclass whose fields carry their help text and checks.

Each option is one :func:`option` field: its default is the one default, its metadata the help
text, PaddleGAN's default where ours differs, the allowed values and the rule its value obeys.
Command lines build their flags from the fields (:mod:`ppgan_app.cli.options`), library code
takes the dataclass or its fields as keyword arguments, and :func:`check_options` (called from
``__post_init__``) checks every value before any work, so a bad value is one
:class:`~ppgan_app.errors.InputError` naming the flag.
"""
from __future__ import annotations

import dataclasses
from dataclasses import field
from typing import Any, Callable, Dict, Iterator, Optional, Sequence, Tuple, Type, TypeVar, Union

from ppgan_app.errors import InputError

SAME = object()  # PaddleGAN's default is ours

Check = Callable[[Any], Optional[str]]
Choices = Union[Sequence[Any], Callable[[], Sequence[Any]]]
T = TypeVar("T")


def option(default: Any, help: str, *, paddlegan: Any = SAME, choices: Optional[Choices] = None,
           check: Optional[Check] = None, cli: bool = True, metavar: Optional[str] = None,
           kind: Optional[type] = None, flag: Optional[str] = None, short: Optional[str] = None,
           aliases: Sequence[str] = (), nargs: Optional[str] = None,
           required: bool = False) -> Any:
    """A dataclass field with its help text and checks.

    Args:
        default: the one default (a tuple for a list option; ``None`` when ``required``).
        help: one-line help (the CLI's and the docs').
        paddlegan: PaddleGAN's default when it differs from ours.
        choices: the allowed values, or a function returning the list owned by another module.
        check: ``value -> error text or None`` for other rules (see :func:`in_range`).
        cli: the option is a command-line flag (``progress`` of the demo is API-only).
        metavar: the value's name in ``--help``.
        kind: value type (of each item for a list option) when the default does not tell it.
        flag: the flag's spelling when it is not ``--<name>`` (PaddleGAN's ``--config-file``).
        short: a one-letter flag (``-c``).
        aliases: older spellings still accepted, hidden from ``--help``.
        nargs: ``"+"`` or ``"*"`` for a list option (its value is a tuple).
        required: the flag must be given (the dataclass default is then ``None``).
    """
    meta = {"help": help, "paddlegan": paddlegan, "choices": choices, "check": check, "cli": cli,
            "metavar": metavar, "kind": kind, "flag": flag, "short": short,
            "aliases": tuple(aliases), "nargs": nargs, "required": required}
    return field(default=default, metadata=meta)


def in_range(low: Optional[float] = None, high: Optional[float] = None) -> Check:
    """A check: the value (each item of a list) lies in ``[low, high]`` (``None``: open)."""
    def check(value: Any) -> Optional[str]:
        if (low is not None and value < low) or (high is not None and value > high):
            if high is None:
                return f"must be >= {_number(low)}"
            if low is None:
                return f"must be <= {_number(high)}"
            return f"must be in {_number(low)}..{_number(high)}"
        return None
    return check


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def value_kind(f: dataclasses.Field) -> Optional[type]:
    """The value type of an option (of its items, for a list): from its metadata, else its
    default's (``None``: any)."""
    if f.metadata.get("kind") is not None:
        return f.metadata["kind"]
    default = f.default
    if isinstance(default, tuple) and default:
        default = default[0]
    return type(default) if isinstance(default, (bool, int, float, str)) else None


def choices_of(f: dataclasses.Field) -> Sequence[Any]:
    """The allowed values of an option (empty when free)."""
    choices = f.metadata.get("choices")
    if choices is None:
        return ()
    return tuple(choices() if callable(choices) else choices)


def flag_of(f: dataclasses.Field) -> str:
    """The flag users type for ``f`` (``--name`` unless the field says otherwise)."""
    return f.metadata.get("flag") or f"--{f.name}"


def _kind_ok(kind: Optional[type], value: Any) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if kind in (int, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool) \
            and (kind is float or float(value).is_integer())
    return kind is None or isinstance(value, kind)


def check_value(f: dataclasses.Field, value: Any) -> None:
    """Check one option's value against its type, choices and rule.

    Raises:
        InputError: naming the flag, the rule and the value.
    """
    flag = flag_of(f)
    if value is None:
        if f.metadata.get("required"):
            raise InputError(f"{flag} is required")
        if f.default is None:
            return
    kind = value_kind(f)
    items = value if f.metadata.get("nargs") else (value,)
    if f.metadata.get("nargs") and not isinstance(value, (tuple, list)):
        raise InputError(f"{flag} takes a list of values, got {value!r}")
    choices, check = choices_of(f), f.metadata.get("check")
    for item in items:
        if not _kind_ok(kind, item):
            raise InputError(f"{flag} must be "
                             f"{'true or false' if kind is bool else kind.__name__}, got {item!r}")
        if choices and item not in choices:
            raise InputError(f"{flag} {item!r} is not one of: {', '.join(map(str, choices))}")
        problem = check(item) if check is not None else None
        if problem:
            raise InputError(f"{flag} {problem}, got {item!r}")


def check_options(options: Any) -> None:
    """Check every field of an options dataclass (call from ``__post_init__``)."""
    for f in dataclasses.fields(options):
        check_value(f, getattr(options, f.name))


def option_fields(cls: Any) -> Iterator[dataclasses.Field]:
    """The option fields of a dataclass (or instance), in declaration order."""
    return iter(dataclasses.fields(cls))


def from_kwargs(cls: Type[T], **kwargs: Any) -> T:
    """``cls(**kwargs)``; an unknown name is an :class:`InputError` listing the known ones."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(kwargs) - names)
    if unknown:
        raise InputError(f"unknown option(s) {', '.join(unknown)}; known: "
                         f"{', '.join(sorted(names))}")
    return cls(**kwargs)


def changed(options: Any) -> Dict[str, Any]:
    """Options that differ from the defaults (for logging)."""
    return {f.name: getattr(options, f.name) for f in dataclasses.fields(options)
            if getattr(options, f.name) != f.default}


def as_tuple(value: Any) -> Optional[Tuple[Any, ...]]:
    """A list option's value as a tuple (``None`` stays ``None``)."""
    return None if value is None else tuple(value)


@dataclasses.dataclass(frozen=True)
class Options:
    """Base of a command line's options: every field checked on construction."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if f.metadata.get("nargs") and isinstance(getattr(self, f.name), list):
                object.__setattr__(self, f.name, tuple(getattr(self, f.name)))
        check_options(self)
