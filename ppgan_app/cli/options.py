"""Command lines built from options dataclasses (:mod:`ppgan_app.utils.options`).

One field, one flag: its help text, type, choices, default (shown in ``--help``) and PaddleGAN's
default come from the field. A multi-word flag is spelled with underscores (PaddleGAN's
``first-order-demo.py`` style) unless the field names PaddleGAN's own spelling
(``--config-file``); the other separator, and older spellings, stay accepted but hidden.
Parse errors are :class:`~ppgan_app.errors.InputError` (one line, exit 2).
"""
from __future__ import annotations

import argparse
import dataclasses
from typing import Any, Iterable, NoReturn, Type, TypeVar

from ppgan_app.utils.options import SAME, choices_of, flag_of, value_kind

T = TypeVar("T")


class _Formatter(argparse.HelpFormatter):
    """Help that shows a flag's own spelling(s) and not its hidden aliases."""

    def _format_action_invocation(self, action: argparse.Action) -> str:
        hidden = getattr(action, "hidden_aliases", ())
        if not hidden:
            return super()._format_action_invocation(action)
        every = action.option_strings
        action.option_strings = [s for s in every if s not in hidden]
        try:
            return super()._format_action_invocation(action)
        finally:
            action.option_strings = every


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are :class:`InputError` (one line, exit 2), and whose
    help hides the accepted aliases of a flag."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        from ppgan_app.errors import InputError

        for action in self._actions:  # argparse names a flag by all its spellings
            hidden = getattr(action, "hidden_aliases", ())
            if hidden:
                shown = "/".join(s for s in action.option_strings if s not in hidden)
                message = message.replace("/".join(action.option_strings), shown)
        raise InputError(f"{message} (see {self.prog} --help)")


def _shown(value: Any) -> str:
    return " ".join(map(str, value)) if isinstance(value, tuple) else str(value)


def help_text(f: dataclasses.Field) -> str:
    """A field's help with our default and PaddleGAN's when it differs."""
    text = f.metadata["help"]
    paddlegan = f.metadata.get("paddlegan", SAME)
    notes = []
    if f.default is not None and not isinstance(f.default, bool) and f.default != ():
        notes.append(f"default: {_shown(f.default)}")
    if paddlegan is not SAME:
        notes.append(f"PaddleGAN: {paddlegan}")
    if notes:
        text += f" ({'; '.join(notes)})"
    return text.replace("%", "%%")


def flag_spellings(f: dataclasses.Field) -> tuple:
    """``(shown, hidden)``: the flag(s) ``--help`` shows, and the accepted aliases."""
    flag = flag_of(f)
    shown = ((f.metadata["short"],) if f.metadata.get("short") else ()) + (flag,)
    hidden = list(f.metadata.get("aliases", ()))
    twin = "--" + flag[2:].replace("_", "-") if "_" in flag else "--" + flag[2:].replace("-", "_")
    if twin != flag and not (value_kind(f) is bool and f.default is True):
        hidden.append(twin)
    return shown, tuple(h for h in dict.fromkeys(hidden) if h not in shown)


def _argument(f: dataclasses.Field) -> dict:
    """``add_argument`` keyword arguments for ``f``."""
    kind, choices = value_kind(f), choices_of(f)
    if kind is bool:
        return {"action": "store_true"} if f.default is False else \
            {"action": argparse.BooleanOptionalAction}
    kwargs = {"type": kind if kind in (int, float) else str}
    if f.metadata.get("nargs"):
        kwargs["nargs"] = f.metadata["nargs"]
        if f.default is None:  # a repeated flag adds to the list (--checkpoint a --checkpoint b)
            kwargs["action"] = "extend"
    if choices:
        kwargs["metavar"] = "{" + ",".join(map(str, choices)) + "}"
    elif f.metadata.get("metavar"):
        kwargs["metavar"] = f.metadata["metavar"]
    if f.metadata.get("required"):
        kwargs["required"] = True
    return kwargs


def add_options(parser: argparse.ArgumentParser, cls: Any, skip: Iterable[str] = (),
                suppress: bool = False) -> argparse.ArgumentParser:
    """Add one flag per CLI field of ``cls`` (not those in ``skip``).

    Args:
        suppress: unset flags stay out of the namespace (the library's defaults apply);
            otherwise the namespace holds the dataclass defaults.
    """
    for f in dataclasses.fields(cls):
        if not f.metadata.get("cli", True) or f.name in skip:
            continue
        kwargs = _argument(f)
        default = argparse.SUPPRESS if suppress else f.default
        shown, hidden = flag_spellings(f)
        action = parser.add_argument(*shown, *hidden, dest=f.name, default=default,
                                     help=help_text(f), **kwargs)
        action.hidden_aliases = hidden
    return parser


def build_parser(cls: Any, prog: str, description: str, suppress: bool = False,
                 skip: Iterable[str] = ()) -> Parser:
    """An argument parser with one flag per field of ``cls``."""
    parser = Parser(prog=prog, description=description,
                    argument_default=argparse.SUPPRESS if suppress else None)
    return add_options(parser, cls, skip=skip, suppress=suppress)


def options_from(cls: Type[T], namespace: argparse.Namespace, **extra: Any) -> T:
    """``cls`` from the parsed flags (fields absent from ``namespace`` keep their defaults);
    ``__post_init__`` checks every value."""
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {k: v for k, v in vars(namespace).items() if k in names}
    kwargs.update(extra)
    return cls(**kwargs)

