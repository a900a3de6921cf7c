"""The contract commands: validate, schema, models, render (and that they skip LiteLLM)."""

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
from auterity_ai_step.resources import example_path
from auterity_ai_step.settings import DATABASE_ENV

runner = CliRunner()
SEED = Path(__file__).parents[1] / "policies" / "examples" / "original_task.yml"


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("customer_inquiry.step.yml", "valid"),
        ("lead_qualification.step.yml", "valid"),
        ("service_recommendation.step.yml", "valid"),
        ("legacy_node.step.json", "valid (legacy)"),
    ],
)
def test_validate_bundled_examples(name: str, expected: str) -> None:
    assert run("validate", str(example_path(name))) == (0, expected + "\n", "")


def test_validate_prints_every_error(tmp_path: Path) -> None:
    step = tmp_path / "bad.yml"
    step.write_text(
        yaml.safe_dump(
            {"config_version": 2, "prompt": "x", "temperature": 3, "max_tokens": 0, "extra": 1}
        )
    )
    code, out, err = run("validate", str(step))
    assert code == 1 and out == ""
    assert err.splitlines() == [
        "extra: unknown key; remove it",
        "max_tokens: must be >= 1 (got 0)",
        "temperature: must be <= 2 (got 3)",
        "<step>: allowed keys: config_version, prompt, template, messages, "
        "template_variables, system, model, fallback_models, policy_fallbacks, cost_limit, "
        "task_type, cost_preference, temperature, max_tokens, timeout_s, response_format, "
        "output_schema, idempotent, label, description, name, type, id, icon, color, notes",
    ]
    step.write_text(yaml.safe_dump({"config_version": 2, "prompt": "x", "model": "gpt5"}))
    code, _, err = run("validate", str(step), "--policy", str(SEED))
    assert code == 1
    assert err == (
        "model: 'gpt5' is not a known model (known: gpt-3.5-turbo, gpt-4, llama2, auto)\n"
    )


def test_validate_accepts_a_whole_node(tmp_path: Path) -> None:
    node = tmp_path / "node.json"
    node.write_text(json.dumps({"id": "n1", "type": "ai", "data": {"prompt": "Hi {x}"}}))
    assert run("validate", str(node)) == (0, "valid (legacy)\n", "")


def test_validate_file_errors(tmp_path: Path) -> None:
    code, _, err = run("validate", str(tmp_path / "missing.yml"))
    assert code == 1 and err.startswith("cannot read step file ")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    code, _, err = run("validate", str(broken))
    assert code == 1 and "is not valid JSON (line 1, column 2: " in err


def test_bad_policy_is_reported(tmp_path: Path) -> None:
    policy = tmp_path / "p.yml"
    policy.write_text(yaml.safe_dump({"models": {}, "routing_rules": {"default_model": "a"}}))
    code, _, err = run("models", "--policy", str(policy))
    assert code == 1
    assert err.startswith("policy error:\nmodels: must be a non-empty mapping")


def test_schema_has_policy_model_enum() -> None:
    code, out, _ = run("schema", "--policy", str(SEED))
    schema = json.loads(out)
    assert code == 0
    assert schema["properties"]["model"]["enum"] == ["gpt-3.5-turbo", "gpt-4", "llama2", "auto"]
    assert schema["properties"]["fallback_models"]["items"]["enum"][-1] == "llama2"


def test_schema_honours_policy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTERITY_AI_POLICY", str(SEED))
    schema = json.loads(run("schema")[1])
    assert schema["properties"]["model"]["enum"][0] == "gpt-3.5-turbo"


def test_models_table() -> None:
    code, out, _ = run("models")
    assert code == 0
    row = next(line for line in out.splitlines() if "gpt-4o-mini " in line)
    for cell in ("openai", "openai/gpt-4o-mini", "$0.00015", "$0.0006", "128,000", "16,384"):
        assert cell in row
    assert " policy " in row  # the price's source
    assert "general, customer_service" in row
    assert "ollama_chat/llama3.1" in out and "$0 " in out


def test_render_with_input_file_and_vars() -> None:
    step = str(example_path("customer_inquiry.step.yml"))
    data = str(example_path("customer_inquiry.input.json"))
    code, out, _ = run("render", step, "--input", data, "--var", "dealership=Lakeside Ford")
    messages = json.loads(out)
    assert code == 0
    assert messages[0] == {
        "role": "system",
        "content": "You are a friendly, accurate assistant for Riverside Honda.",
    }
    assert "blue 2024 Civic Sport" in messages[1]["content"]
    code, out, _ = run("render", step, "--var", "inquiry=Open Sunday?", "--var", "vehicle=null")
    assert code == 0 and '"Open Sunday?"' in json.loads(out)[1]["content"]


def test_render_legacy_from_stdin() -> None:
    step = str(example_path("legacy_node.step.json"))
    code, out, _ = run("render", step, "-i", "-", stdin='{"customer_name": "Al", "inquiry": "hi"}')
    messages = json.loads(out)
    assert code == 0 and [m["role"] for m in messages] == ["system", "user", "system"]
    assert messages[1]["content"] == "Summarise this inquiry from Al in two sentences: hi"
    assert messages[2]["content"].startswith("Additional context: {")


def test_render_errors(tmp_path: Path) -> None:
    step = str(example_path("customer_inquiry.step.yml"))
    code, _, err = run("render", step)
    assert code == 1 and err.startswith("template error: ") and "inquiry" in err
    code, _, err = run("render", step, "--var", "novalue")
    assert code == 1 and err == "--var 'novalue': expected KEY=VALUE\n"
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    code, _, err = run("render", step, "--input", str(listed))
    assert code == 1 and err == f"input file {listed} must hold an object of input values\n"
    invalid = tmp_path / "invalid.yml"
    invalid.write_text("config_version: 2\n")
    code, _, err = run("render", str(invalid))
    assert code == 1 and "needs exactly one of prompt, template or messages" in err


HEAVY = ("litellm", "aiohttp.web", "sqlalchemy")


def test_contract_commands_do_not_import_litellm_aiohttp_or_sqlalchemy(tmp_path: Path) -> None:
    """With no ledger to read, the fast commands load neither LiteLLM, the simulator's web
    server nor SQLAlchemy: each costs a cold start tenths of a second."""
    step = str(example_path("customer_inquiry.step.yml"))
    code = (
        "import sys\n"
        "from auterity_ai_step.cli import app\n"
        f"for args in (['validate', {step!r}], ['schema'], ['models'],"
        f" ['render', {step!r}, '--var', 'inquiry=x']):\n"
        "    try:\n"
        "        app(args)\n"
        "    except SystemExit as exc:\n"
        "        assert not exc.code, (args, exc.code)\n"
        f"print('LOADED', [m for m in {HEAVY!r} if m in sys.modules], file=sys.stderr)\n"
    )
    env = {
        **os.environ,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        DATABASE_ENV: f"sqlite:///{tmp_path / 'no-ledger-here.db'}",
    }
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "LOADED []"
    assert not (tmp_path / "no-ledger-here.db").exists()


def test_plain_text_commands_load_no_table_printer_and_schema_no_validator(
    tmp_path: Path,
) -> None:
    """``validate`` and ``schema`` print plain text: Rich (tables, live status) loads only
    for commands that print with it, and ``schema`` only prints the schema, so jsonschema
    loads when a step is first validated (tens of milliseconds of a cold start each)."""
    step = str(example_path("customer_inquiry.step.yml"))
    probe = (
        "import sys\n"
        "from auterity_ai_step.cli import app\n"
        "try:\n"
        "    app(sys.argv[1:])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print('LOADED', [m for m in ('rich', 'jsonschema') if m in sys.modules], "
        "file=sys.stderr)\n"
    )
    env = {**os.environ, DATABASE_ENV: f"sqlite:///{tmp_path / 'no-ledger-here.db'}"}
    loaded = {}
    for args in (["schema"], ["validate", step]):
        done = subprocess.run(
            [sys.executable, "-c", probe, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        loaded[args[0]] = done.stderr.strip().splitlines()[-1]
    assert loaded == {"schema": "LOADED []", "validate": "LOADED ['jsonschema']"}


def test_validate_refuses_a_policy_with_an_unknown_timezone(tmp_path: Path) -> None:
    data = yaml.safe_load(SEED.read_text())
    data["cost_controls"]["timezone"] = "Mars/Olympus"
    policy = tmp_path / "mars.yml"
    policy.write_text(yaml.safe_dump(data))
    step = str(example_path("legacy_node.step.json"))
    for command in (["validate", step], ["estimate", step], ["models"]):
        code, out, err = run(*command, "--policy", str(policy))
        assert (code, out) == (1, ""), (command, out, err)
        assert err == (
            "policy error:\ncost_controls.timezone: unknown time zone 'Mars/Olympus' "
            "(use an IANA name such as UTC or America/Chicago)\n"
        )


def _models_rows(out: str) -> dict[str, list[str]]:
    rows = {}
    for line in out.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if cells and cells[0]:
            rows[cells[0]] = cells
    return rows


def test_models_shows_the_price_runs_use_and_where_it_comes_from(tmp_path: Path) -> None:
    """A model without policy prices runs at LiteLLM's bundled price: show it, not '-'."""
    policy = tmp_path / "mixed.yml"
    policy.write_text(
        yaml.safe_dump(
            {
                "models": {
                    "openai": {
                        "priced": {
                            "litellm_model": "openai/gpt-4o",
                            "input_cost_per_1k": 0.001,
                            "context_window": 128000,
                        },
                        "from-litellm": {
                            "litellm_model": "openai/gpt-4o",
                            "context_window": 128000,
                        },
                    },
                    "ollama": {"mystery": {"context_window": 8192}},
                },
                "routing_rules": {"default_model": "priced"},
            }
        )
    )
    code, out, err = run("models", "--policy", str(policy))
    assert code == 0, err
    rows = _models_rows(out)
    # name, provider, litellm model, in / 1k, out / 1k, price from, ...
    assert rows["priced"][3:6] == ["$0.001", "$0.001", "policy"]  # one price counts for both
    assert rows["from-litellm"][3:6] == ["$0.0025", "$0.01", "litellm"]
    assert rows["mystery"][3:6] == ["-", "-", "none"]


def test_models_of_a_priced_policy_never_import_litellm(tmp_path: Path) -> None:
    """Only a model without policy prices makes ``models`` load LiteLLM's price map."""
    code = (
        "import sys\n"
        "from auterity_ai_step.cli import app\n"
        "try:\n"
        "    app(sys.argv[1:])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print('LITELLM' if 'litellm' in sys.modules else 'CLEAN', file=sys.stderr)\n"
    )
    unpriced = tmp_path / "unpriced.yml"
    data = yaml.safe_load(SEED.read_text())
    del data["models"]["openai"]["gpt-4"]["cost_per_1k_tokens"]
    unpriced.write_text(yaml.safe_dump(data))
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "COLUMNS": "200"}
    seen = {}
    for name, path in (("seed", SEED), ("unpriced", unpriced)):
        done = subprocess.run(
            [sys.executable, "-c", code, "models", "--policy", str(path)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        seen[name] = (done.stderr.strip().splitlines()[-1], _models_rows(done.stdout))
    assert seen["seed"][0] == "CLEAN"
    assert seen["seed"][1]["gpt-4"][3:6] == ["$0.03", "$0.03", "policy"]
    assert seen["unpriced"][0] == "LITELLM"
    assert seen["unpriced"][1]["gpt-4"][3:6] == ["$0.03", "$0.06", "litellm"]
