"""A ledger URL the CLI cannot use is one ``error:`` line and exit 1, never a traceback.

Every command that opens the ledger (usage, run, estimate, demo, serve), with the URL from
``--db`` or from ``$AUTERITY_AI_DATABASE_URL``; the password in the URL is never printed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from auterity_ai_step.cli import app

runner = CliRunner()
PASSWORD = "hunter2-Secret"
NOT_A_URL = (
    "error: the ledger database URL is not a valid SQLAlchemy URL (expected "
    "sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DATABASE)"
)
URLS = {
    "mysql": (
        f"mysql://admin:{PASSWORD}@db.example/ledger",
        "error: unsupported database 'mysql': use SQLite or PostgreSQL",
    ),
    "unparsable": (f"admin:{PASSWORD} at db.example", NOT_A_URL),
    "bad port": (f"postgresql://admin:{PASSWORD}@db.example:port/ledger", NOT_A_URL),
    "no such driver": (
        f"postgresql+nodriver://admin:{PASSWORD}@db.example/ledger",
        "error: cannot open the ledger database: Can't load plugin: "
        "sqlalchemy.dialects:postgresql.nodriver",
    ),
}


@pytest.fixture(autouse=True)
def _no_keys_or_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "HUGGINGFACE_API_KEY",
        "AUTERITY_AI_API_TOKEN",
        "AUTERITY_AI_ADMIN_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)


def _commands(tmp_path: Path) -> dict[str, list[str]]:
    step = tmp_path / "step.json"
    step.write_text(json.dumps({"config_version": 2, "prompt": "Hi {{ name }}"}))
    return {
        "usage": ["usage"],
        "usage --json": ["usage", "--json", "--execution-id", "e1"],
        "run": ["run", str(step), "--var", "name=Dana", "--simulator"],
        "estimate": ["estimate", str(step), "--var", "name=Dana"],
        "demo": ["demo", "--simulator"],
        "serve": ["serve", "--insecure-local", "--port", "1"],
    }


COMMANDS = ["usage", "usage --json", "run", "estimate", "demo", "serve"]


def _assert_one_error(result: Result, expected: str) -> None:
    stdout, stderr = result.stdout, result.stderr
    assert result.exit_code == 1, (stdout, stderr)
    assert "Traceback" not in stdout + stderr and PASSWORD not in stdout + stderr
    assert stdout == ""
    lines = stderr.splitlines()
    assert lines[-1] == expected, stderr
    # Only serve's security warning may come before it (it is printed before the ledger).
    assert all(line.startswith("WARNING: serving WITHOUT") for line in lines[:-1]), stderr


@pytest.mark.parametrize("url", list(URLS), ids=list(URLS))
@pytest.mark.parametrize("command", COMMANDS)
def test_bad_db_option(tmp_path: Path, command: str, url: str) -> None:
    given, expected = URLS[url]
    result = runner.invoke(app, [*_commands(tmp_path)[command], "--db", given])
    _assert_one_error(result, expected)


@pytest.mark.parametrize("command", COMMANDS)
def test_bad_database_url_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    given, expected = URLS["mysql"]
    monkeypatch.setenv("AUTERITY_AI_DATABASE_URL", given)
    result = runner.invoke(app, _commands(tmp_path)[command])
    _assert_one_error(result, expected)


def test_a_database_directory_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    step = tmp_path / "step.yml"
    step.write_text("prompt: hi\n")
    db = f"sqlite:///{blocker}/sub/ledger.db"
    result = runner.invoke(app, ["run", str(step), "--simulator", "--db", db])  # one that writes
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot open the ledger database: ")
    assert "Traceback" not in result.output
