"""Help that reads like the ecosystem's other CLIs (click, pip, git).

Typer's own rendering shows a type after every option, flags included (``--simulator
<bool>``, ``--help <bool>``), lists as ``<list[str]>`` and required arguments in braces, so
``run x.yml --simulator true`` looks right and fails. Here a flag shows no value, an option
shows one upper-case word (``PATH``, ``TEXT``, or its own metavar such as ``KEY=VALUE``), a
repeated option says "repeatable", and an argument shows as its name (``STEP_FILE``).
``tests/test_cli_help.py`` keeps every command that way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

__all__ = ["PLAIN_WORDS", "REPEATABLE", "PlainHelpApp", "PlainHelpCommand", "PlainHelpGroup"]

_WORDS = {
    "str": "TEXT",
    "int": "INTEGER",
    "int range": "INTEGER",
    "float": "NUMBER",
    "float range": "NUMBER",
    "path": "PATH",
    "file": "FILE",
}
PLAIN_WORDS = frozenset(_WORDS.values())
REPEATABLE = "(repeatable)"
_F = TypeVar("_F", bound=Callable[..., Any])


def _no_type(ctx: Any) -> None:
    return None


def _plain(param: Any, ctx: typer.Context) -> None:
    """Give one parameter the usual look (idempotent: help is built more than once)."""
    if isinstance(param, TyperArgument):
        param.metavar = param.metavar or (param.name or "").upper()
        setattr(param, "display_type_rich", _no_type)  # noqa: B010 (its name says what it is)
        return
    if not isinstance(param, TyperOption):
        return
    if param.is_flag:
        param.metavar = ""
        return
    if param.metavar is None:
        shown = param.display_type(ctx).strip("<>").removeprefix("list[").removesuffix("]")
        param.metavar = _WORDS.get(shown, shown.upper())
    if param.multiple and REPEATABLE not in (param.help or ""):
        param.help = f"{param.help or ''} {REPEATABLE}".strip()


def _usage(name: str, required: bool, many: bool) -> str:
    shown = name if required else f"[{name}]"
    return shown + ("..." if many else "")


class PlainHelpCommand(TyperCommand):
    """A command whose help and usage line read as described in the module docstring."""

    def get_params(self, ctx: typer.Context) -> list[Any]:  # type: ignore[override]
        params: list[Any] = super().get_params(ctx)
        for param in params:
            _plain(param, ctx)
        return params

    def collect_usage_pieces(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                name = param.metavar or (param.name or "").upper()
                pieces.append(_usage(name, param.required, param.nargs != 1))
        return pieces


class PlainHelpGroup(TyperGroup):
    """The top-level group, with the same plain options as its commands."""

    def get_params(self, ctx: typer.Context) -> list[Any]:  # type: ignore[override]
        params: list[Any] = super().get_params(ctx)
        for param in params:
            _plain(param, ctx)
        return params


class PlainHelpApp(typer.Typer):
    """A typer app whose commands are :class:`PlainHelpCommand` unless told otherwise."""

    def command(
        self, name: str | None = None, *, cls: type[TyperCommand] | None = None, **kwargs: Any
    ) -> Callable[[_F], _F]:
        decorator: Callable[[_F], _F] = super().command(name, cls=cls or PlainHelpCommand, **kwargs)
        return decorator
