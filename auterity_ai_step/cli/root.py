"""The typer app every family of commands registers on, and where commands print.

Its own module, apart from the package's ``__init__``, so that a family module can be
imported alone: the console script imports only the family of the command it runs.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from .help_style import PlainHelpApp, PlainHelpGroup

if TYPE_CHECKING:
    from rich.console import Console

app = PlainHelpApp(
    name="auterity-ai-step",
    cls=PlainHelpGroup,
    help="Multi-model AI step for Auterity workflows: validate, render, run, simulate, account.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def console() -> Console:
    """Where commands print: the terminal's width, or 160 columns when piped (so tables in
    logs and docs are not cut), unless ``COLUMNS`` says otherwise. Rich loads here, on
    first print, so commands that print plain text start without it."""
    from rich.console import Console

    wide = sys.stdout.isatty() or bool(os.environ.get("COLUMNS"))
    return Console(width=None if wide else 160)


@app.callback()
def _group() -> None:
    # A callback keeps the app a group of commands (typer's way) when the console script
    # has registered a single one: ``simulate`` alone is still ``auterity-ai-step simulate``.
    pass
