"""The ``auterity-ai-step`` command line: one typer app, one module per family of commands.

Commands that make no provider call (validate, schema, render, models, estimate) must not
import LiteLLM, so they start fast; modules that need it import it inside the command.

The console script (:func:`main`) imports only the family of the command it runs: the
other families' modules and typer's building of their commands are about 10 ms of a
``validate`` cold start. ``--help``, no command or an unknown one load every family, so
help and "did you mean" list every command. ``app`` taken from this package has them all.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from .root import app as _app
from .root import console

__all__ = ["FAMILIES", "app", "console", "load_commands", "main"]

FAMILIES: dict[str, tuple[str, ...]] = {
    "contract_cmds": ("validate", "schema", "models", "render"),
    "api_cmds": ("serve",),
    "money_cmds": ("usage",),
    "run_cmds": ("run", "health", "estimate", "demo"),
    "sim_cmds": ("simulate",),
    "whatif_cmds": ("whatif",),
}
"""Each family module and the commands it registers, in ``--help`` order."""
_ORDER = [name for names in FAMILIES.values() for name in names]


def load_commands(names: list[str] | None = None) -> None:
    """Register the families of the named commands on the app; all of them unless every
    name is a command (``--help`` and typos see every command)."""
    wanted = names if names and all(n in _ORDER for n in names) else _ORDER
    for module, commands in FAMILIES.items():
        if any(n in wanted for n in commands):
            importlib.import_module(f".{module}", __name__)
    # Help lists commands in registration order: the same whichever family came first
    # (a command added to the app by its user stays after ours).
    _app.registered_commands.sort(key=lambda c: _rank(c.name or c.callback.__name__))  # type: ignore[union-attr]


def _rank(name: str) -> int:
    return _ORDER.index(name) if name in _ORDER else len(_ORDER)


def main() -> None:
    """Console-script entry point."""
    load_commands(sys.argv[1:2])
    _app()


def __getattr__(name: str) -> Any:
    if name == "app":  # for hosts, tests and the docs: every command
        load_commands()
        return _app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
