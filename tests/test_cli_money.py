"""``auterity-ai-step usage`` against a real SQLite ledger."""

from __future__ import annotations

import json
from decimal import Decimal

from typer.testing import CliRunner

import auterity_ai_step.cli.money_cmds  # noqa: F401  (registers the command)
from auterity_ai_step.cli import app
from auterity_ai_step.store import Ledger, UsageRecord

runner = CliRunner(env={"COLUMNS": "200"})


def seed(url: str) -> None:
    ledger = Ledger(url)
    for attempt, (model, cost, status) in enumerate(
        [("gpt-4", "0.03702", "error"), ("gpt-4o-mini", "0.0005253", "success")], start=1
    ):
        ledger.record(
            UsageRecord(
                "exec-9",
                "node-1",
                model,
                "openai",
                1000,
                234,
                Decimal(cost),
                80,
                status,
                "timeout" if status == "error" else None,
                attempt,
                attempt > 1,
                "v1",
            )
        )
    ledger.close()


def test_usage_tables_and_json(sqlite_url: str) -> None:
    seed(sqlite_url)
    result = runner.invoke(app, ["usage", "--db", sqlite_url, "--days", "3"])
    assert result.exit_code == 0, result.output
    assert "gpt-4o-mini" in result.output and "0.0005253" in result.output
    assert "total: 2 calls, 2468 tokens, 0.0375453 USD" in result.output
    only = runner.invoke(app, ["usage", "--db", sqlite_url, "--model", "gpt-4", "--json"])
    data = json.loads(only.output)
    assert data["total_cost"] == "0.03702" and data["model"] == "gpt-4"
    assert [row["cost"] for row in data["by_model"]] == ["0.03702"]
    assert [row["cost"] for row in data["by_day"]] == ["0.03702"]


def test_usage_json_money_is_the_tables_text(sqlite_url: str) -> None:
    """The stored ``Numeric(18, 10)`` scale never shows: ``0.0005253``, not ``0.0005253000``."""
    seed(sqlite_url)
    totals = json.loads(runner.invoke(app, ["usage", "--db", sqlite_url, "--json"]).output)
    assert totals["total_cost"] == "0.0375453"
    assert {row["model_name"]: row["cost"] for row in totals["by_model"]} == {
        "gpt-4": "0.03702",
        "gpt-4o-mini": "0.0005253",
    }
    rows = json.loads(
        runner.invoke(
            app, ["usage", "--db", sqlite_url, "--execution-id", "exec-9", "--json"]
        ).output
    )
    assert [row["cost"] for row in rows] == ["0.03702", "0.0005253"]
    table = runner.invoke(app, ["usage", "--db", sqlite_url, "--execution-id", "exec-9"])
    assert "0.03702 " in table.output and "0.0005253 " in table.output


def test_usage_of_one_execution(sqlite_url: str) -> None:
    seed(sqlite_url)
    result = runner.invoke(app, ["usage", "--db", sqlite_url, "--execution-id", "exec-9"])
    assert result.exit_code == 0, result.output
    assert "2 attempt(s)" in result.output and "error (timeout)" in result.output
    as_json = runner.invoke(
        app, ["usage", "--execution-id", "exec-9", "--db", sqlite_url, "--json"]
    )
    assert [r["attempt"] for r in json.loads(as_json.output)] == [1, 2]


def test_usage_default_database_and_errors(sqlite_url: str) -> None:
    ledger = Ledger(sqlite_url)
    ledger.totals(7, None)  # a first read creates the file and its tables
    ledger.close()
    empty = runner.invoke(app, ["usage", "--db", sqlite_url])  # an empty ledger
    assert empty.exit_code == 0 and "total: 0 calls, 0 tokens, 0 USD" in empty.output
    broken = runner.invoke(app, ["usage", "--db", "postgresql://x@127.0.0.1:1/none"])
    assert broken.exit_code == 1 and "error:" in broken.output


def _option_help(command: str, option: str) -> str:
    """The help text of ``option`` as ``command --help`` prints it (one line at 200 columns)."""
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    (line,) = [row for row in result.output.splitlines() if f" {option} " in row]
    return line.split(" URL ", 1)[1].strip(" │")


def test_usage_db_option_is_the_shared_ledger_option() -> None:
    shown = _option_help("usage", "--db")
    assert shown.startswith("Ledger SQLAlchemy URL (default: $AUTERITY_AI_DATABASE_URL")
    assert all(_option_help(c, "--db") == shown for c in ("run", "estimate", "demo"))


def test_usage_defaults_to_the_database_url_variable(sqlite_url: str) -> None:
    seed(sqlite_url)
    result = runner.invoke(app, ["usage"], env={"AUTERITY_AI_DATABASE_URL": sqlite_url})
    assert result.exit_code == 0, result.output
    assert "total: 2 calls, 2468 tokens, 0.0375453 USD" in result.output
