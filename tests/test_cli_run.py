"""run, estimate, health and demo, as a user types them, against the loopback simulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from sim_policy import sim_policy_file
from typer.testing import CliRunner

from auterity_ai_step.cli import app
from auterity_ai_step.contract.policy import load_policy
from auterity_ai_step.resources import bundled_policy_path
from auterity_ai_step.simulator.server import ModelBehaviour, Scenario, Simulator

runner = CliRunner()


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator(Scenario(models={"broken-model": ModelBehaviour(outcomes=(500,))}))
    _, stop = simulator.run_in_thread()
    yield simulator
    stop()


def _policy_file(tmp_path: Path, base: str, **cost_controls: float) -> Path:
    return sim_policy_file(tmp_path, base, **cost_controls)


def _step_file(tmp_path: Path, **data: object) -> Path:
    step = {
        "config_version": 2,
        "prompt": "Hello {{ name }}",
        "model": "gpt-4o-mini",
        "max_tokens": 50,
        **data,
    }
    path = tmp_path / "step.json"
    path.write_text(json.dumps(step))
    return path


def test_run_prints_answer_model_attempts_and_cost(tmp_path: Path, sim: Simulator) -> None:
    policy = _policy_file(tmp_path, sim.base_url)
    step = _step_file(tmp_path, model="broken", fallback_models=["gpt-4o-mini"])
    result = runner.invoke(
        app,
        ["run", str(step), "--var", "name=Dana", "--policy", str(policy), "--execution-id", "e1"],
    )
    assert result.exit_code == 0, result.output
    assert "answer from gpt-4o-mini (openai)" in result.output
    assert "broken" in result.output and "unavailable" in result.output
    assert "execution e1 (argument)" in result.output
    assert sim.count("broken-model") == 1  # a fallback fits: no same-model retry

    usage = runner.invoke(app, ["usage", "--execution-id", "e1"])
    assert usage.exit_code == 0, usage.output
    assert "gpt-4o-mini" in usage.output


def test_run_json_output(tmp_path: Path, sim: Simulator) -> None:
    policy = _policy_file(tmp_path, sim.base_url)
    inputs = tmp_path / "in.json"
    inputs.write_text(json.dumps({"name": "Sam"}))
    result = runner.invoke(
        app,
        ["run", str(_step_file(tmp_path)), "-i", str(inputs), "--policy", str(policy), "--json"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["success"] is True
    assert data["output_data"]["ai_model"] == "gpt-4o-mini"
    assert data["output_data"]["processed_data"] == {"name": "Sam"}


def test_run_failure_exits_1_with_reasons(tmp_path: Path, sim: Simulator) -> None:
    sim.scenario.default = ModelBehaviour(outcomes=(500,))
    policy = _policy_file(tmp_path, sim.base_url)
    step = _step_file(tmp_path, model="broken")
    result = runner.invoke(app, ["run", str(step), "--var", "name=x", "--policy", str(policy)])
    assert result.exit_code == 1
    assert "all candidate models failed after 3 attempt(s)" in result.output
    assert "broken: unavailable" in result.output
    assert "gpt-4o-mini: unavailable" in result.output


def test_run_rejects_bad_input_file(tmp_path: Path, sim: Simulator) -> None:
    policy = _policy_file(tmp_path, sim.base_url)
    inputs = tmp_path / "in.json"
    inputs.write_text("[1, 2]")
    result = runner.invoke(
        app, ["run", str(_step_file(tmp_path)), "-i", str(inputs), "--policy", str(policy)]
    )
    assert result.exit_code == 1
    assert "must hold an object" in result.output


def test_run_rejects_bad_policy(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("models: {}\nrouting_rules: {default_model: x}\n")
    result = runner.invoke(app, ["run", str(_step_file(tmp_path)), "--policy", str(bad)])
    assert result.exit_code == 1
    assert "policy error" in result.output


def test_estimate_shows_each_candidate_against_each_limit(tmp_path: Path, sim: Simulator) -> None:
    policy = _policy_file(tmp_path, sim.base_url, per_request_limit=0.001)
    step = _step_file(tmp_path, fallback_models=["claude-haiku-4-5"], cost_limit=0.0001)
    result = runner.invoke(
        app, ["estimate", str(step), "--var", "name=Dana", "--policy", str(policy)]
    )
    assert result.exit_code == 0, result.output
    assert "gpt-4o-mini" in result.output and "claude-haiku-4-5" in result.output
    assert "fits" in result.output and "no" in result.output
    assert "daily budget left today: $10" in result.output
    assert sim.count() == 0


def test_estimate_reports_template_errors(tmp_path: Path, sim: Simulator) -> None:
    policy = _policy_file(tmp_path, sim.base_url)
    result = runner.invoke(app, ["estimate", str(_step_file(tmp_path)), "--policy", str(policy)])
    assert result.exit_code == 1
    assert "name" in result.output


def test_health_reports_each_model(tmp_path: Path, sim: Simulator) -> None:
    policy = _policy_file(tmp_path, sim.base_url)
    result = runner.invoke(app, ["health", "--policy", str(policy), "gpt-4o-mini", "broken"])
    assert result.exit_code == 0, result.output
    assert "available" in result.output
    assert "unavailable" in result.output
    unknown = runner.invoke(app, ["health", "--policy", str(policy), "gpt5"])
    assert unknown.exit_code == 1
    assert "unknown model(s) gpt5" in unknown.output


def test_demo_runs_the_workflow_on_the_simulator(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "HUGGINGFACE_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    result = runner.invoke(app, ["demo", "--simulator"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "built-in provider simulator" in out
    for step in ("customer_inquiry", "lead_qualification", "service_recommendation"):
        assert step in out
    assert "claude-haiku-4-5 (fallback)" in out  # after one 503: no same-model retry
    assert "claude-sonnet-4-5 (fallback)" in out  # after one 429
    assert "5 attempts recorded" in out


def test_run_on_the_simulator_needs_no_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--simulator`` sends the bundled policy's calls to the simulator: no key, an answer."""
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "HUGGINGFACE_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    step = _step_file(tmp_path, fallback_models=["claude-haiku-4-5"])
    result = runner.invoke(app, ["run", str(step), "--var", "name=Dana", "--simulator"])
    assert result.exit_code == 0, result.output
    assert "using the built-in provider simulator at http://127.0.0.1:" in result.output
    assert "Simulated answer." in result.output
    assert "answer from gpt-4o-mini (openai)" in result.output


def test_run_scenario_scripts_the_providers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scenario's failing primary makes the fallback answer, with the scenario's text."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    scenario = tmp_path / "outage.yml"
    scenario.write_text(
        "models:\n"
        "  gpt-4o-mini: {outcomes: [401]}\n"
        "  claude-haiku-4-5: {answer: 'Yes, Saturday works.'}\n"
    )
    step = _step_file(tmp_path, fallback_models=["claude-haiku-4-5"])
    result = runner.invoke(
        app, ["run", str(step), "--var", "name=Dana", "--scenario", str(scenario), "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)["output_data"]
    assert out["ai_response"] == "Yes, Saturday works."
    assert [a["outcome"] for a in out["ai_attempts"]] == ["error", "success"]
    assert out["ai_attempts"][0]["error_type"] == "authentication"


def test_run_refuses_an_unreadable_scenario(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.yml"
    scenario.write_text("models: {gpt-4o-mini: {colour: blue}}\n")
    result = runner.invoke(app, ["run", str(_step_file(tmp_path)), "--scenario", str(scenario)])
    assert result.exit_code == 1
    assert "cannot load scenario" in result.output and "colour" in result.output


def test_health_on_a_scenario(tmp_path: Path) -> None:
    scenario = tmp_path / "down.yml"
    scenario.write_text("models:\n  gpt-4o: {outcomes: [503]}\n")
    result = runner.invoke(app, ["health", "gpt-4o-mini", "gpt-4o", "--scenario", str(scenario)])
    assert result.exit_code == 0, result.output
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if "│" in line}
    assert "available" in lines["gpt-4o-mini"]
    assert "unavailable" in lines["gpt-4o"]


def _estimate_rows(output: str) -> dict[str, list[str]]:
    """The estimate table's rows by model: max tokens, worst case, cost_limit, ..."""
    rows = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if cells and cells[0] and cells[0] != "model":
            rows[cells[0]] = cells[1:]
    return rows


def test_estimate_caps_max_tokens_as_run_does_on_the_simulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without max_tokens the engine lowers it to what cost_limit pays for; estimate shows
    that figure, so the model run answers with is a fit, not a "no" priced at its full
    16,384 output tokens ($0.0098 > $0.005)."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    step = _step_file(tmp_path, max_tokens=None, cost_limit=0.005)
    step.write_text(json.dumps({k: v for k, v in json.loads(step.read_text()).items() if v}))
    estimate = runner.invoke(app, ["estimate", str(step), "--var", "name=Dana"])
    assert estimate.exit_code == 0, estimate.output
    max_tokens, worst, cost_limit, per_request, _daily = _estimate_rows(estimate.output)[
        "gpt-4o-mini"
    ]
    assert 8000 < int(max_tokens) < 16384 and cost_limit == "fits" and per_request == "fits"
    assert Decimal(worst.lstrip("$")) <= Decimal("0.005")
    run = runner.invoke(app, ["run", str(step), "--var", "name=Dana", "--simulator", "--json"])
    assert run.exit_code == 0, run.output
    assert json.loads(run.stdout)["output_data"]["ai_model"] == "gpt-4o-mini"


def test_estimate_shows_the_max_tokens_run_sends(tmp_path: Path, sim: Simulator) -> None:
    policy = _policy_file(tmp_path, sim.base_url, per_request_limit=0.00008)
    step = tmp_path / "step.json"
    step.write_text(
        json.dumps(
            {
                "config_version": 2,
                "prompt": "Hello {{ name }}",
                "model": "gpt-4o-mini",
                "fallback_models": ["claude-haiku-4-5"],
                "cost_limit": 0.001,
            }
        )
    )
    args = [str(step), "--var", "name=Dana", "--policy", str(policy)]
    estimate = runner.invoke(app, ["estimate", *args])
    assert estimate.exit_code == 0, estimate.output
    rows = _estimate_rows(estimate.output)
    # per_request_limit ($0.00008) is the tightest: it pays for ~130 of gpt-4o-mini's 4,096
    # output tokens, and not even 16 of claude-haiku-4-5's ($0.005 per 1k).
    assert rows["gpt-4o-mini"][0].isdigit() and int(rows["gpt-4o-mini"][0]) < 4096
    assert rows["gpt-4o-mini"][2:4] == ["fits", "fits"]
    assert rows["claude-haiku-4-5"][:4] == ["refused", rows["claude-haiku-4-5"][1], "fits", "no"]
    assert rows["claude-haiku-4-5"][1].startswith("at least $")
    assert (
        "not tried: claude-haiku-4-5: refused by per_request_limit: per_request_limit: "
        "0.00008 left, the smallest useful attempt needs" in estimate.output
    )
    assert sim.count() == 0
    run = runner.invoke(app, ["run", *args])
    assert run.exit_code == 0, run.output
    (request,) = sim.requests
    assert request.body is not None
    assert request.body["max_tokens"] == int(rows["gpt-4o-mini"][0])


def test_estimate_and_run_agree_when_nothing_fits(tmp_path: Path, sim: Simulator) -> None:
    policy = _policy_file(tmp_path, sim.base_url)
    step = tmp_path / "step.json"
    step.write_text(
        json.dumps({"config_version": 2, "prompt": "Hi {{ name }}", "cost_limit": 0.000001})
    )
    args = [str(step), "--var", "name=Dana", "--policy", str(policy)]
    estimate = runner.invoke(app, ["estimate", *args])
    assert estimate.exit_code == 0, estimate.output
    assert _estimate_rows(estimate.output)["gpt-4o-mini"][0] == "refused"
    assert "not tried: gpt-4o-mini: refused by cost_limit: " in estimate.output
    run = runner.invoke(app, ["run", *args])
    assert run.exit_code == 1
    assert "no candidate fits the cost limits, no provider was called" in run.output
    assert sim.count() == 0


def test_demo_runs_on_the_bundled_policy_whatever_the_environment_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "HUGGINGFACE_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    custom = tmp_path / "one-model.yml"
    custom.write_text(
        yaml.safe_dump(
            {
                "models": {
                    "openai": {"only-model": {"input_cost_per_1k": 0.001, "context_window": 8192}}
                },
                "routing_rules": {"default_model": "only-model"},
            }
        )
    )
    monkeypatch.setenv("AUTERITY_AI_POLICY", str(custom))
    # The custom policy is in force for the other commands ...
    assert "only-model" in runner.invoke(app, ["models"]).output
    # ... but the demo names the bundled models, so it runs on the bundled policy.
    result = runner.invoke(app, ["demo", "--simulator"])
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    bundled = load_policy(bundled_policy_path()).version
    assert first.startswith(f"Demo workflow on the bundled model policy (version {bundled})")
    assert f"$AUTERITY_AI_POLICY ({custom}) is not used" in first
    assert "claude-haiku-4-5 (fallback)" in result.output
    assert "5 attempts recorded" in result.output
    assert "only-model" not in result.output


def test_demo_first_line_names_the_bundled_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTERITY_AI_POLICY", raising=False)
    result = runner.invoke(app, ["demo", "--simulator"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    bundled = load_policy(bundled_policy_path()).version
    assert lines[0] == f"Demo workflow on the bundled model policy (version {bundled})."
    assert lines[1].startswith("No provider credentials found: using the built-in provider")


def test_a_legacy_node_naming_gpt_4_turbo_preview_validates_and_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Today's AIModelType.GPT_4_TURBO value is a model of the bundled policy."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    node = tmp_path / "legacy.json"
    node.write_text(
        json.dumps(
            {
                "id": "n1",
                "type": "ai",
                "data": {"prompt": "Summarise: {text}", "model": "gpt-4-turbo-preview"},
            }
        )
    )
    validate = runner.invoke(app, ["validate", str(node)])
    assert (validate.exit_code, validate.stdout) == (0, "valid (legacy)\n")
    result = runner.invoke(
        app, ["run", str(node), "--var", "text=brakes squeal", "--simulator", "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)["output_data"]
    assert out["ai_model"] == "gpt-4-turbo-preview" and out["ai_provider"] == "openai"
    assert [a["outcome"] for a in out["ai_attempts"]] == ["success"]
    assert Decimal(out["ai_cost"]) > 0
