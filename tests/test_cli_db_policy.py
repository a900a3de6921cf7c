"""Every command reads the policy the executor runs by: the file plus the model
configurations stored in the ledger (as ``PUT /api/models/config`` writes them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from auterity_ai_step.cli import app
from auterity_ai_step.store.ledger import Ledger

runner = CliRunner()
SEED = Path(__file__).parents[1] / "policies" / "examples" / "original_task.yml"
DB_MODEL = {
    "provider": "ollama",
    "context_window": 8192,
    "input_cost_per_1k": "0",
    "output_cost_per_1k": "0",
    "use_cases": ["general"],
}


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def _ledger_with(url: str, configs: dict[str, dict[str, object]]) -> None:
    ledger = Ledger(url)
    try:
        ledger.put_model_configurations(configs)
    finally:
        ledger.close()


@pytest.fixture
def db(sqlite_url: str) -> str:
    """A SQLite ledger holding one model the policy file does not know."""
    _ledger_with(sqlite_url, {"db-llama": DB_MODEL})
    return sqlite_url


def _step(tmp_path: Path, **data: object) -> Path:
    path = tmp_path / "step.yml"
    path.write_text(
        yaml.safe_dump(
            {"config_version": 2, "prompt": "Hi {{ name }}", "model": "db-llama", **data}
        )
    )
    return path


def test_models_lists_a_model_stored_in_the_ledger(db: str) -> None:
    code, out, err = invoke("models", "--db", db)
    assert code == 0 and err == ""
    row = next(line for line in out.splitlines() if "db-llama" in line)
    assert "ollama" in row and "ollama_chat/db-llama" in row and "8,192" in row
    assert "1 model configuration(s) stored in the ledger" in out
    code, out, _ = invoke("models")  # the test's default ledger does not exist: file only
    assert code == 0 and "db-llama" not in out


def test_validate_schema_and_render_accept_a_stored_model(tmp_path: Path, db: str) -> None:
    step = str(_step(tmp_path))
    assert invoke("validate", step, "--db", db) == (0, "valid\n", "")
    code, _, err = invoke("validate", step)
    assert code == 1 and "'db-llama' is not a known model" in err
    # $AUTERITY_AI_DATABASE_URL names the ledger when --db does not.
    assert invoke("validate", step, env={"AUTERITY_AI_DATABASE_URL": db}) == (0, "valid\n", "")
    code, out, _ = invoke("schema", "--db", db)
    schema = json.loads(out)
    assert code == 0 and "db-llama" in schema["properties"]["model"]["enum"]
    assert "db-llama" in schema["properties"]["fallback_models"]["items"]["enum"]
    code, out, _ = invoke("render", step, "--var", "name=Ann", "--db", db)
    assert code == 0 and json.loads(out)[-1] == {"role": "user", "content": "Hi Ann"}


def test_run_estimate_and_health_use_a_stored_model(tmp_path: Path, db: str) -> None:
    step = str(_step(tmp_path))
    result = runner.invoke(app, ["run", step, "--var", "name=Ann", "--db", db, "--simulator"])
    assert result.exit_code == 0, result.output
    assert "answer from db-llama (ollama)" in result.output
    assert "Simulated answer." in result.output
    ledger = Ledger(db)
    try:
        assert ledger.totals(1)["by_model"][0]["model_name"] == "db-llama"
    finally:
        ledger.close()

    code, out, _ = invoke("estimate", step, "--var", "name=Ann", "--db", db)
    assert code == 0 and "db-llama" in out
    result = runner.invoke(app, ["health", "db-llama", "--db", db, "--simulator"])
    assert result.exit_code == 0, result.output
    assert "db-llama" in result.output and "available" in result.output
    code, _, err = invoke("health", "db-llama")
    assert code == 1 and "unknown model(s) db-llama" in err


def test_a_stored_override_changes_a_file_model(tmp_path: Path, sqlite_url: str) -> None:
    _ledger_with(sqlite_url, {"gpt-4": {"quality": 2, "use_cases": ["db_tuned"]}})
    code, out, _ = invoke("models", "--policy", str(SEED), "--db", sqlite_url)
    row = next(line for line in out.splitlines() if line.strip("│ ").startswith("gpt-4 "))
    assert code == 0 and "db_tuned" in row


@pytest.mark.parametrize("command", ["validate", "schema", "render"])
def test_a_missing_sqlite_ledger_is_not_created(tmp_path: Path, command: str) -> None:
    """(``models`` refuses a --db that names no database: test_cli_ledger_and_extras.py.)"""
    missing = tmp_path / "no-such-dir" / "ledger.db"
    args = {
        "validate": ["validate", str(_step(tmp_path, model="gpt-4o-mini"))],
        "schema": ["schema"],
        "render": ["render", str(_step(tmp_path, model="gpt-4o-mini")), "--var", "name=x"],
    }[command]
    code, _, err = invoke(*args, "--db", f"sqlite:///{missing}")
    assert code == 0 and err == ""
    assert not missing.parent.exists()


def test_the_default_ledger_is_not_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No --db and no $AUTERITY_AI_DATABASE_URL: the user data directory stays untouched."""
    monkeypatch.delenv("AUTERITY_AI_DATABASE_URL")
    step = str(_step(tmp_path, model="gpt-4o-mini"))
    assert invoke("validate", step) == (0, "valid\n", "")
    assert invoke("schema")[0] == 0
    assert not (tmp_path / "xdg-data").exists()


def test_the_default_ledger_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db: str
) -> None:
    monkeypatch.delenv("AUTERITY_AI_DATABASE_URL")
    from auterity_ai_step.settings import database_url

    _ledger_with(database_url(), {"db-llama": DB_MODEL})
    assert invoke("validate", str(_step(tmp_path))) == (0, "valid\n", "")


def test_an_unreadable_ledger_is_one_warning_and_the_file_alone(tmp_path: Path) -> None:
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"this is not a SQLite database, not at all" * 50)
    step = str(_step(tmp_path, model="gpt-4o-mini"))
    code, out, err = invoke("validate", step, "--db", f"sqlite:///{broken}")
    assert (code, out) == (0, "valid\n")
    assert len(err.splitlines()) == 1
    assert err.startswith("warning: ignoring the model configurations stored in the ledger (")
    assert "broken.db" in err and err.rstrip().endswith("using the policy file alone")


def test_the_warning_never_shows_a_password(tmp_path: Path) -> None:
    url = "postgresql://ann:hunter2-very-secret@127.0.0.1:1/ledger"
    code, out, err = invoke("models", "--db", url)
    assert code == 0 and "gpt-4o-mini" in out
    assert len(err.splitlines()) == 1 and err.startswith("warning: ")
    assert "hunter2" not in err and "127.0.0.1" in err
    code, _, err = invoke("validate", str(_step(tmp_path, model="gpt-4o-mini")), "--db", "::")
    assert code == 0 and err.startswith("warning: ") and len(err.splitlines()) == 1


def test_an_invalid_stored_configuration_is_a_policy_error(sqlite_url: str) -> None:
    _ledger_with(sqlite_url, {"db-bad": {"provider": "ollama", "context_window": "big"}})
    code, _, err = invoke("models", "--db", sqlite_url)
    assert code == 1
    assert err.splitlines() == [
        "policy error:",
        "overrides.db-bad.context_window: Input should be a valid integer, unable to parse "
        "string as an integer",
        "(the policy includes the model configurations stored in the ledger)",
    ]


def test_contract_commands_with_a_ledger_do_not_import_litellm_or_aiohttp(
    tmp_path: Path, db: str
) -> None:
    step = str(_step(tmp_path))
    code = (
        "import sys\n"
        "from auterity_ai_step.cli import app\n"
        f"for args in (['validate', {step!r}], ['schema'], ['models'],"
        f" ['render', {step!r}, '--var', 'name=x']):\n"
        "    try:\n"
        f"        app([*args, '--db', {db!r}])\n"
        "    except SystemExit as exc:\n"
        "        assert not exc.code, (args, exc.code)\n"
        "heavy = [m for m in ('litellm', 'aiohttp.web') if m in sys.modules]\n"
        "print('LOADED', heavy, file=sys.stderr)\n"
    )
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "db-llama" in done.stdout
    assert done.stderr.strip().splitlines()[-1] == "LOADED []"


def test_schema_defaults_and_examples_are_models_of_the_policy() -> None:
    code, out, _ = invoke("schema", "--policy", str(SEED))
    props = json.loads(out)["properties"]
    assert code == 0
    model, items = props["model"], props["fallback_models"]["items"]
    assert model["default"] == "auto" and set(model["examples"]) <= set(model["enum"])
    assert items["default"] == "gpt-3.5-turbo"  # the policy's default model
    assert set(items["examples"]) <= set(items["enum"])
    for example in props["fallback_models"]["examples"]:
        assert example and set(example) <= set(items["enum"])


def test_simulator_help_says_what_the_default_answer_is() -> None:
    code, out, _ = invoke("simulate", "--help", env={"COLUMNS": "200"})
    assert code == 0 and "Simulated answer." in out and "answers ok" not in out
    code, out, _ = invoke("run", "--help", env={"COLUMNS": "200"})
    assert "Simulated answer." in out
