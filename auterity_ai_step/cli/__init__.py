"""The ``auterity-ai-step`` command line: one typer app, one module per family of commands.

Commands that make no provider call (validate, schema, render, models, estimate) must not
import LiteLLM, so they start fast; modules that need it import it inside the command.
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


def main() -> None:
    """Console-script entry point."""
    app()


# Command families register themselves on ``app`` at import.
from . import api_cmds as api_cmds  # noqa: E402
from . import contract_cmds as contract_cmds  # noqa: E402
from . import money_cmds as money_cmds  # noqa: E402
from . import run_cmds as run_cmds  # noqa: E402
from . import sim_cmds as sim_cmds  # noqa: E402
from . import whatif_cmds as whatif_cmds  # noqa: E402
