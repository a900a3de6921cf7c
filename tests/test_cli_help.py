"""Every command's ``--help`` reads like the ecosystem's CLIs: a flag shows no value, an
option shows one upper-case word, a repeated option says "repeatable", an argument shows as
its name (``STEP_FILE``), never ``<bool>``, ``<list[str]>`` or ``{STEP_FILE}``."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import typer
import typer.main
from typer.core import TyperArgument, TyperOption
from typer.testing import CliRunner

from auterity_ai_step.cli import FAMILIES, app, load_commands

runner = CliRunner()
GROUP = typer.main.get_command(app)
COMMANDS = sorted(GROUP.commands)  # type: ignore[attr-defined]


def help_of(*args: str) -> str:
    """The help as one line of words (the table's rows, not its box)."""
    return " ".join(raw_help(*args).replace("│", " ").split())


def raw_help(*args: str) -> str:
    result = runner.invoke(app, [*args, "--help"], env={"COLUMNS": "220", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return result.stdout


def usage_of(name: str) -> list[str]:
    line = next(x for x in raw_help(name).splitlines() if "Usage:" in x)
    return line.split()[1:]


def params(name: str) -> list[object]:
    command = GROUP.commands[name]  # type: ignore[attr-defined]
    ctx = typer.Context(command, info_name=name)
    return [p for p in command.get_params(ctx) if not p.hidden]


def test_the_top_level_help_has_a_plain_help_flag() -> None:
    text = help_of()
    assert "Usage: auterity-ai-step [OPTIONS] COMMAND [ARGS]..." in text
    assert "--help Show this message and exit." in text


@pytest.mark.parametrize("name", COMMANDS)
def test_help_reads_like_the_ecosystems_clis(name: str) -> None:
    text = help_of(name)
    assert not re.search(r"<(bool|str|int|float|path|file|list)", text), text
    usage = usage_of(name)
    assert usage[:2] == ["auterity-ai-step", name] and "[OPTIONS]" in usage
    arguments = [p for p in params(name) if isinstance(p, TyperArgument)]
    assert usage[3:] == [
        (p.metavar if p.required else f"[{p.metavar}]") + ("..." if p.nargs != 1 else "")
        for p in arguments
    ]
    for param in params(name):
        first_words = " ".join((param.help or "").split()[:3])  # type: ignore[attr-defined]
        if isinstance(param, TyperArgument):
            assert re.fullmatch(r"[A-Z][A-Z_]*", param.metavar or ""), param.metavar
            assert f"{param.metavar} {first_words}" in text
            continue
        assert isinstance(param, TyperOption)
        opts = sorted(param.opts, key=len, reverse=True)
        names = r"\s+".join(re.escape(o) for o in opts)
        if param.is_flag:
            assert re.search(rf"{names} {re.escape(first_words)}", text), (param.opts, text)
        else:
            value = param.metavar or ""
            assert re.fullmatch(r"[A-Z][A-Z_=]*", value), (param.opts, value)
            assert re.search(rf"{names} {re.escape(value)} ", text), (param.opts, text)
        if param.multiple:
            assert re.search(rf"{names} \S+ [^│]*?\(repeatable\)", text), (param.opts, text)


def test_run_usage_and_its_flags() -> None:
    text = help_of("run")
    assert "Usage: auterity-ai-step run [OPTIONS] STEP_FILE " in text
    assert "--simulator Call the built-in provider simulator" in text
    assert "--var KEY=VALUE Input value (VALUE as JSON if it parses). (repeatable)" in text
    assert "--json Print the step result as JSON." in text


def test_a_flag_takes_no_value() -> None:
    result = runner.invoke(app, ["run", "x.yml", "--simulator", "true"])
    assert result.exit_code != 0  # "true" is an extra argument, as --help now suggests


def test_the_families_table_names_every_command_in_help_order() -> None:
    """``main()`` imports a command's family from this table: a command missing from it
    would be found only through ``--help``'s loading of every family."""
    registered = {}
    for info in app.registered_commands:
        name = info.name or info.callback.__name__  # type: ignore[union-attr]
        registered[name] = info.callback.__module__.rsplit(".", 1)[-1]  # type: ignore[union-attr]
    table = {name: module for module, names in FAMILIES.items() for name in names}
    assert registered == table
    assert GROUP.list_commands(typer.Context(GROUP)) == list(table)  # type: ignore[attr-defined]


@pytest.mark.parametrize("args", [["simulate", "--help"], ["validate", "--help"], ["--help"]])
def test_the_console_script_helps_as_the_app_does(args: list[str]) -> None:
    """The console script loads only the named command's family; its help, a single
    command's family included (``simulate``), reads as the whole app's."""
    code = (
        "import sys\n"
        "from auterity_ai_step.cli import main\n"
        "sys.argv = ['auterity-ai-step', *sys.argv[1:]]\n"
        "main()\n"
    )
    env = {**os.environ, "COLUMNS": "220", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == raw_help(*args[:-1])


def test_a_command_its_user_adds_to_the_app_comes_after_ours() -> None:
    def host_report() -> None:
        """A host's own command."""

    app.command("host-report")(host_report)
    try:
        load_commands()
        names = [c.name for c in app.registered_commands]
        assert names[-1] == "host-report" and len(names) == len(COMMANDS) + 1
    finally:
        app.registered_commands[:] = [c for c in app.registered_commands if c.name != "host-report"]
