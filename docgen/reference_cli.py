"""``reference/cli.md`` from the commands' own click objects, so the page is what ``--help`` says.

The typer app is turned into its click group (``typer.main.get_command``) and read: help
texts, usage pieces, parameters. Nothing is run in a shell and no terminal width is involved,
so the output is the same everywhere. A command's epilog (the text ``--help`` prints after
the options, e.g. ``simulate``'s scenario file format) becomes a section of its own, and a
command whose module docstring says more than its help gets that docstring too.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

import typer
import typer.main
from typer.core import TyperArgument, TyperOption

from auterity_ai_step.cli import app
from auterity_ai_step.cli.help_style import PLAIN_WORDS, REPEATABLE

from . import md

__all__ = ["commands", "render"]

SOURCE = "the auterity-ai-step commands' help (auterity_ai_step/cli)"
PROG = "auterity-ai-step"
# Section titles of command epilogs (default: "More") and the language of their verbatim
# (``\b``) blocks; the title gives the anchor, e.g. #simulate-scenario-file-format.
_EPILOGS = {"simulate": ("Scenario file format", "yaml")}


def commands() -> list[tuple[str, Any, typer.Context]]:
    """The visible subcommands in ``--help`` order, each with its own click context."""
    group = typer.main.get_command(app)
    ctx = typer.Context(group, info_name=PROG)
    out = []
    for name in group.list_commands(ctx):  # type: ignore[attr-defined]
        command = group.get_command(ctx, name)  # type: ignore[attr-defined]
        if command is not None and not command.hidden:
            out.append((name, command, typer.Context(command, info_name=name, parent=ctx)))
    return out


def _help(command: Any) -> tuple[str, str]:
    """The one-line help and the rest of the help text (click stops at a form feed)."""
    text = inspect.cleandoc(command.help or "").partition("\f")[0]
    first, _, rest = text.partition("\n\n")
    short = inspect.cleandoc(command.short_help) if command.short_help else " ".join(first.split())
    return short, rest.strip()


def _range(param: Any) -> str:
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if low is None and high is None:
        return ""
    if high is None:
        return f"≥ {low}"
    return f"≤ {high}" if low is None else f"{low} to {high}"


def _type(param: Any, ctx: typer.Context) -> str:
    if isinstance(param, TyperOption) and param.is_flag:
        return "flag"
    shown = param.display_type(ctx).strip("<>")
    if isinstance(param, TyperOption) and param.metavar and param.metavar not in PLAIN_WORDS:
        shown = param.metavar  # a value of its own shape: KEY=VALUE, URL, ID
    if param.multiple:
        shown = f"{shown.removeprefix('list[').removesuffix(']')}, repeatable"
    elif param.nargs == -1:
        shown = f"{shown.removeprefix('list[').removesuffix(']')}, any number"
    limits = _range(param)
    return f"{shown} ({limits})" if limits else shown


def _default(param: Any, ctx: typer.Context) -> str:
    value = param.get_default(ctx, call=False)
    if isinstance(param, TyperOption) and param.is_flag:
        return "on" if value else "off"
    if value is None or value in ((), []):
        return ""
    return md.code(str(value))


def _params_table(command: Any, ctx: typer.Context, kind: type) -> str:
    rows = []
    params: list[Any] = [p for p in command.params if isinstance(p, kind)]
    for param in params:
        if param.hidden:
            continue
        names = sorted([*param.opts, *param.secondary_opts], key=lambda o: (len(o), o))
        name = ", ".join(md.code(n) for n in names) if kind is TyperOption else md.code(param.name)
        help_text = (param.help or "").removesuffix(f" {REPEATABLE}")  # the type says so
        if param.envvar:
            help_text += f" (environment variable: {param.envvar})"
        rows.append(
            (
                name,
                md.cell(_type(param, ctx)),
                "yes" if param.required else "no",
                _default(param, ctx),
                md.cell(help_text),
            )
        )
    if not rows:
        return ""
    title = "Arguments" if kind is TyperArgument else "Options"
    table = md.table([title[:-1], "Type", "Required", "Default", "Help"], rows)
    return f"**{title}**\n\n{table}"


def _module_doc(name: str, command: Any) -> str:
    """The docstring of a module that defines only this command, when it says more than help."""
    module_name = getattr(command.callback, "__module__", "")
    module = sys.modules.get(module_name)
    doc = inspect.getdoc(module) if module is not None else None
    owners = [
        c
        for c in app.registered_commands
        if c.callback is not None and c.callback.__module__ == module_name
    ]
    if not doc or len(owners) != 1 or "\n\n" not in doc:
        return ""
    return (
        f"### Details {{ #{name}-details }}\n\n"
        f"From the documentation of `{module_name}` (not shown by `--help`):\n\n" + md.rst(doc)
    )


def _epilog(name: str, command: Any) -> str:
    """The epilog as a section: prose paragraphs, and ``\\b`` paragraphs as code blocks."""
    if not command.epilog:
        return ""
    title, lang = _EPILOGS.get(name, ("More", "text"))
    anchor = f"{name}-{title.lower().replace(' ', '-')}"
    parts = [
        f"### {title} {{ #{anchor} }}\n",
        f"Shown after the options by `{PROG} {name} --help`:\n",
    ]
    for paragraph in inspect.cleandoc(command.epilog).split("\n\n"):
        if paragraph.startswith("\b\n"):
            parts.append(md.fence(paragraph.removeprefix("\b\n"), lang))
        else:
            parts.append(md.prose(" ".join(paragraph.split())) + "\n")
    return "\n".join(parts)


def _command(name: str, command: Any, ctx: typer.Context) -> str:
    short, rest = _help(command)
    usage = " ".join([ctx.command_path, *command.collect_usage_pieces(ctx)])
    parts = [f"## `{name}` {{ #{name} }}\n", md.prose(short) + "\n"]
    if rest:
        parts.append(md.rst(rest))
    parts.append(md.fence(usage, "text"))
    parts += [
        t for t in (_params_table(command, ctx, k) for k in (TyperArgument, TyperOption)) if t
    ]
    parts += [t for t in (_epilog(name, command), _module_doc(name, command)) if t]
    return "\n".join(parts)


def render() -> str:
    """The whole page."""
    group = typer.main.get_command(app)
    ctx = typer.Context(group, info_name=PROG)
    found = commands()
    out = [
        md.header(SOURCE, "Command line reference"),
        md.prose(inspect.cleandoc(group.help or "")) + "\n",
        md.fence(" ".join([PROG, *group.collect_usage_pieces(ctx)]), "text"),
        "Every command also takes `--help`, which prints its usage and options. "
        "A flag is off unless given.\n",
        "## Commands\n",
        md.table(
            ["Command", "What it does"],
            [(f"[`{n}`](#{n})", md.cell(_help(c)[0])) for n, c, _ in found],
        ),
    ]
    out += [_command(n, c, x) for n, c, x in found]
    return "\n".join(out).rstrip("\n") + "\n"
