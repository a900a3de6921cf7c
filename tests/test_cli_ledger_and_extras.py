"""Read-only commands never create a ledger, a missing extra names its install command, and
a run that failed for want of keys points at ``--simulator``: each as a user meets it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auterity_ai_step.cli import app
from auterity_ai_step.extras import extra_for_module, install_command
from auterity_ai_step.resources import example_path

runner = CliRunner()
STEP = str(example_path("customer_inquiry.step.yml"))
INPUT = str(example_path("customer_inquiry.input.json"))


@pytest.mark.parametrize(
    "command",
    [["usage"], ["models"], ["estimate", STEP, "-i", INPUT]],
    ids=["usage", "models", "estimate"],
)
def test_read_only_commands_refuse_a_database_that_does_not_exist(
    tmp_path: Path, command: list[str]
) -> None:
    missing = tmp_path / "err" / "no2" / "such" / "ledger.db"
    result = runner.invoke(app, [*command, "--db", f"sqlite:///{missing}"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: no ledger database at {missing} (from --db): nothing has been recorded "
        "there. Check the path; 'run' and 'demo' create a ledger when they first record.\n"
    )
    assert not (tmp_path / "err").exists()  # no folder, no empty ledger


def test_the_database_variable_is_named_when_it_points_nowhere(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.db"
    result = runner.invoke(app, ["usage"], env={"AUTERITY_AI_DATABASE_URL": f"sqlite:///{missing}"})
    assert result.exit_code == 1
    assert f"no ledger database at {missing} (from $AUTERITY_AI_DATABASE_URL)" in result.stderr
    assert not missing.exists()


def test_without_a_default_ledger_usage_refuses_and_estimate_reads_nothing_spent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from auterity_ai_step.settings import default_database_path

    monkeypatch.delenv("AUTERITY_AI_DATABASE_URL")  # the user's data directory (isolated)
    default = default_database_path(create_dir=False)
    assert not default.exists()
    usage = runner.invoke(app, ["usage"])
    assert usage.exit_code == 1
    assert f"no ledger database at {default} (from the default)" in usage.stderr
    estimate = runner.invoke(app, ["estimate", STEP, "-i", INPUT])
    assert estimate.exit_code == 0, estimate.output
    assert "daily budget left today: $100" in estimate.stdout
    models = runner.invoke(app, ["models"])
    assert models.exit_code == 0, models.output
    assert not default.exists()  # read-only commands created nothing


def test_a_writing_command_creates_the_ledger(tmp_path: Path) -> None:
    db = tmp_path / "new" / "ledger.db"
    run = runner.invoke(app, ["run", STEP, "-i", INPUT, "--simulator", "--db", f"sqlite:///{db}"])
    assert run.exit_code == 0, run.output
    usage = runner.invoke(app, ["usage", "--db", f"sqlite:///{db}"])
    assert usage.exit_code == 0 and "total: 1 calls" in usage.stdout


def _without(modules: list[str], *args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess where ``modules`` cannot be imported (as if not installed)."""
    code = (
        "import sys\n"
        f"for name in {modules!r}: sys.modules[name] = None\n"
        f"sys.argv = ['auterity-ai-step', *{list(args)!r}]\n"
        "from auterity_ai_step.cli import main\n"
        "main()\n"
    )
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    env["AUTERITY_AI_DATABASE_URL"] = f"sqlite:///{tmp_path / 'ledger.db'}"
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )


def test_a_missing_postgres_driver_names_the_install_command(tmp_path: Path) -> None:
    url = "postgresql://app@127.0.0.1:1/ledger"
    for args in (
        ["run", STEP, "-i", INPUT, "--simulator", "-q", "--db", url],
        ["usage", "--db", url],
    ):
        done = _without(["psycopg"], *args, tmp_path=tmp_path)
        assert done.returncode == 1
        assert done.stderr == (
            "error: a PostgreSQL ledger needs psycopg, which is not installed: "
            "pip install 'auterity-ai-step[postgres]'\n"
        ), args


def test_a_missing_api_extra_names_the_install_command(tmp_path: Path) -> None:
    done = _without(["fastapi", "uvicorn"], "serve", "--insecure-local", tmp_path=tmp_path)
    assert done.returncode == 1
    assert done.stderr.endswith(
        "error: serve needs uvicorn, which is not installed: pip install 'auterity-ai-step[api]'\n"
    )


def test_every_extra_a_user_installs_is_known_from_the_package_metadata() -> None:
    assert extra_for_module("psycopg") == "postgres"
    assert extra_for_module("fastapi.routing") == "api"
    assert extra_for_module("uvicorn") == "api"
    assert extra_for_module("json") is None
    assert install_command("postgres") == "pip install 'auterity-ai-step[postgres]'"


def test_a_run_without_keys_points_at_the_simulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "HUGGINGFACE_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    result = runner.invoke(app, ["run", STEP, "-i", INPUT, "--db", f"sqlite:///{tmp_path}/l.db"])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "no provider key is set (OPENAI_API_KEY, ANTHROPIC_API_KEY): export one, or try the "
        f"step without keys on the built-in simulator: auterity-ai-step run {STEP} --simulator"
    )


@pytest.mark.parametrize("console_ships", [False, True])
def test_the_demo_ends_saying_where_to_go_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, console_ships: bool
) -> None:
    import auterity_ai_step.cli.demo as demo

    monkeypatch.setattr(demo, "console_built", lambda: console_ships)
    db = tmp_path / "demo.db"
    result = runner.invoke(app, ["demo", "--simulator", "--db", f"sqlite:///{db}"])
    assert result.exit_code == 0, result.output
    tail = result.stdout.splitlines()[-4 if console_ships else -3 :]
    execution = tail[2].split("--execution-id ")[1].split()[0]
    expected = [
        "next:",
        f"  the ledger, every attempt with its tokens and cost: {db}",
        f"  this run's usage: auterity-ai-step usage --execution-id {execution} "
        f"--db 'sqlite:///{db}'",
    ]
    if console_ships:
        expected.append(
            f"  the console: auterity-ai-step serve --insecure-local --db 'sqlite:///{db}', "
            "then open http://127.0.0.1:8765/"
        )
    assert tail == expected
    usage = runner.invoke(app, ["usage", "--execution-id", execution, "--db", f"sqlite:///{db}"])
    assert usage.exit_code == 0 and "claude-haiku-4-5" in usage.stdout  # the line works


def test_the_demo_on_the_configured_ledger_needs_no_db_option() -> None:
    result = runner.invoke(app, ["demo", "--simulator"])
    assert result.exit_code == 0, result.output
    usage = [line for line in result.stdout.splitlines() if "this run's usage:" in line]
    assert usage, result.stdout
    assert usage[0].startswith("  this run's usage: auterity-ai-step usage --execution-id demo-")
    assert "--db" not in usage[0]
