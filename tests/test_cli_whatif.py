"""``auterity-ai-step whatif`` against a real SQLite ledger filled by real steps.

The steps run through the executor against the loopback simulator; the replay's figures are
checked against a hand computation from the recorded rows, exact in Decimal.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from alembic import command
from sim_policy import sim_policy_data, sim_policy_file
from typer.testing import CliRunner

from auterity_ai_step import AIStepExecutor, WorkflowNode
from auterity_ai_step.cli import app
from auterity_ai_step.core.executor import default_engine
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.simulator.server import ModelBehaviour, Scenario, Simulator
from auterity_ai_step.store.ledger import Ledger
from auterity_ai_step.store.migrations import alembic_config

runner = CliRunner(env={"COLUMNS": "200"})
STEP = {
    "config_version": 2,
    "prompt": "Summarise the customer's last three visits for the service advisor.",
    "model": "claude-haiku-4-5",
    "max_tokens": 100,
    "task_type": "summaries",
    "cost_preference": "cheapest",
}
THOUSAND = Decimal(1000)
MINI_IN, MINI_OUT = Decimal("0.00015"), Decimal("0.0006")


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(Scenario(default=ModelBehaviour(completion_tokens=100))) as simulator:
        yield simulator


async def run_steps(
    tmp_path: Path, sim: Simulator, url: str, count: int = 3
) -> list[dict[str, Any]]:
    """Run ``count`` real steps (executions e1, e2, ...) and return their ledger rows."""
    policy = sim_policy_file(tmp_path, sim.base_url)
    ledger = Ledger(url)
    store = PolicyStore(policy, check_interval_s=0)
    executor = AIStepExecutor(engine=default_engine(store, ledger))
    for number in range(1, count + 1):
        node = WorkflowNode(id=f"node-{number % 2}", type="ai", data=STEP)
        result = await executor.execute_step(node, {}, execution_id=f"e{number}")
        assert result.success, result.error_message
    rows = [row for n in range(1, count + 1) for row in ledger.execution_usage(f"e{n}")]
    ledger.close()
    return rows


def candidate(tmp_path: Path, sim: Simulator, *, drop_haiku: bool = True, **changes: Any) -> Path:
    """The simulator's policy without claude-haiku-4-5 (its steps fall back to gpt-4o-mini)."""
    data = sim_policy_data(sim.base_url, **changes.pop("cost_controls", {}))
    if drop_haiku:
        del data["models"]["anthropic"]
    for name, values in changes.pop("mini", {}).items():
        data["models"]["openai"]["gpt-4o-mini"][name] = values
    path = tmp_path / "candidate.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def whatif(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["whatif", *args, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


def mini_cost(row: dict[str, Any]) -> Decimal:
    return (row["prompt_tokens"] * MINI_IN + row["completion_tokens"] * MINI_OUT) / THOUSAND


def worst_case(row: dict[str, Any], max_tokens: int = 100) -> Decimal:
    billed = math.ceil(row["routing"]["prompt_tokens"] * Decimal("1.25")) + 16
    return (billed * MINI_IN + max_tokens * MINI_OUT) / THOUSAND


async def test_steps_record_their_routing(tmp_path: Path, sim: Simulator, sqlite_url: str) -> None:
    rows = await run_steps(tmp_path, sim, sqlite_url, count=2)
    row = rows[0]
    assert row["task_type"] == "summaries" and row["cost_preference"] == "cheapest"
    assert row["routing"]["model"] == "claude-haiku-4-5"
    assert row["routing"]["max_tokens"] == 100 and row["routing"]["prompt_tokens"] > 0
    assert len(row["config_hash"]) == 16 and row["config_hash"] == rows[1]["config_hash"]
    assert row["step_run"] != rows[1]["step_run"]


async def test_totals_match_a_hand_computation(
    tmp_path: Path, sim: Simulator, sqlite_url: str
) -> None:
    rows = await run_steps(tmp_path, sim, sqlite_url)
    then = sum((Decimal(str(r["cost"])) for r in rows), Decimal(0))
    now = sum((mini_cost(r) for r in rows), Decimal(0))
    data = whatif("--policy", str(candidate(tmp_path, sim)), "--db", sqlite_url, "--days", "1")
    assert data["steps"] == 3 and data["old_steps"] == 0 and data["refused_steps"] == 0
    assert Decimal(data["total"]["cost_then"]) == then
    assert Decimal(data["total"]["cost_now"]) == now
    assert Decimal(data["total"]["difference"]) == now - then
    by_model = {g["name"]: g for g in data["by_model"]}
    assert by_model["claude-haiku-4-5"]["steps_then"] == 3
    assert by_model["claude-haiku-4-5"]["steps_now"] == 0
    assert by_model["gpt-4o-mini"]["steps_now"] == 3
    assert Decimal(by_model["gpt-4o-mini"]["cost_now"]) == now
    assert [g["name"] for g in data["by_task_type"]] == ["summaries"]
    nodes = {g["name"]: g["steps_now"] for g in data["by_node"]}
    assert nodes == {"node-0": 1, "node-1": 2}
    day = datetime.now(UTC).date().isoformat()
    assert {(d["day"], d["model"]) for d in data["by_day_model"]} == {
        (day, "claude-haiku-4-5"),
        (day, "gpt-4o-mini"),
    }
    # Both tokenizers are known (tiktoken and LiteLLM's bundled Anthropic one): an estimate.
    assert data["estimated_steps"] == 3 and Decimal(data["cost_now_estimate"]) > 0
    assert any("quality" in caveat for caveat in data["caveats"])


async def test_text_output_shows_totals_and_caveats(
    tmp_path: Path, sim: Simulator, sqlite_url: str
) -> None:
    await run_steps(tmp_path, sim, sqlite_url, count=1)
    policy = candidate(tmp_path, sim)
    result = runner.invoke(app, ["whatif", "--policy", str(policy), "--db", sqlite_url])
    assert result.exit_code == 0, result.output
    data = whatif("--policy", str(policy), "--db", sqlite_url)
    total = data["total"]
    assert f"total then ${total['cost_then']}, now ${total['cost_now']}" in result.output
    assert "By workflow node" in result.output and "What a replay cannot know" in result.output


async def test_daily_budget_refuses_the_third_step(
    tmp_path: Path, sim: Simulator, sqlite_url: str
) -> None:
    rows = await run_steps(tmp_path, sim, sqlite_url)
    costs = [mini_cost(r) for r in rows]
    # Room for the first two steps' costs and the second's worst case, not the third's.
    budget = costs[0] + worst_case(rows[1]) + costs[1] / 2
    assert costs[0] + costs[1] + worst_case(rows[2]) > budget
    policy = candidate(tmp_path, sim, cost_controls={"daily_budget": str(budget)})
    data = whatif("--policy", str(policy), "--db", sqlite_url)
    assert data["refused_by_limit"] == {"daily_budget": 1}
    assert Decimal(data["total"]["cost_now"]) == costs[0] + costs[1]
    [day] = data["budget_days"]
    assert day["refused_steps"] == 1 and Decimal(day["spent"]) == costs[0] + costs[1]
    assert datetime.fromisoformat(day["ran_out_at"]) == datetime.fromisoformat(
        rows[2]["created_at"]
    )
    [refused] = data["refused"]
    assert refused["limit"] == "daily_budget" and "daily_budget" in refused["reason"]


async def test_per_request_limit_refusal_is_counted(
    tmp_path: Path, sim: Simulator, sqlite_url: str
) -> None:
    rows = await run_steps(tmp_path, sim, sqlite_url, count=1)
    policy = candidate(tmp_path, sim, cost_controls={"per_request_limit": "0.00001"})
    data = whatif("--policy", str(policy), "--db", sqlite_url)
    assert worst_case(rows[0]) > Decimal("0.00001")
    assert data["refused_by_limit"] == {"per_request_limit": 1}
    assert data["total"]["cost_now"] == "0"


async def test_the_steps_own_cost_limit_is_replayed(
    tmp_path: Path, sim: Simulator, sqlite_url: str
) -> None:
    """The recorded cost_limit travels with the step: a dearer candidate breaks it."""
    limited = {**STEP, "cost_limit": 0.001}
    policy = sim_policy_file(tmp_path, sim.base_url)
    ledger = Ledger(sqlite_url)
    executor = AIStepExecutor(
        engine=default_engine(PolicyStore(policy, check_interval_s=0), ledger)
    )
    node = WorkflowNode(id="capped", type="ai", data=limited)
    assert (await executor.execute_step(node, {}, execution_id="c1")).success
    [row] = ledger.execution_usage("c1")
    ledger.close()
    assert row["routing"]["cost_limit"] == "0.001"
    # gpt-4o-mini at 0.01/1k out: 100 output tokens alone may cost 0.001, plus the prompt.
    dear = candidate(tmp_path, sim, mini={"output_cost_per_1k": 0.01})
    data = whatif("--policy", str(dear), "--db", sqlite_url)
    assert data["refused_by_limit"] == {"cost_limit": 1}
    assert "step cost_limit 0.001" in data["refused"][0]["reason"]


async def test_context_window_too_small(tmp_path: Path, sim: Simulator, sqlite_url: str) -> None:
    rows = await run_steps(tmp_path, sim, sqlite_url, count=2)
    # The step's own model, claude-haiku-4-5, gets a window too small for its prompt plus
    # its max_tokens (100): it falls to the policy's fallback chain, gpt-4o-mini.
    data = sim_policy_data(sim.base_url)
    data["models"]["anthropic"]["claude-haiku-4-5"]["context_window"] = 64
    data["models"]["anthropic"]["claude-haiku-4-5"]["max_output_tokens"] = 64
    path = tmp_path / "small.yml"
    path.write_text(yaml.safe_dump(data))
    report = whatif("--policy", str(path), "--db", sqlite_url)
    needed = rows[0]["routing"]["prompt_tokens"] + 100
    assert report["context_miss_steps"] == 2
    miss = report["context_misses"][0]
    assert miss == {
        "execution_id": "e1",
        "node_id": "node-1",
        "model": "claude-haiku-4-5",
        "context_window": 64,
        "needed": needed,
        "routed_to": "gpt-4o-mini",
    }
    assert {g["name"]: g["steps_now"] for g in report["by_model"]}["gpt-4o-mini"] == 2


async def test_one_execution_only(tmp_path: Path, sim: Simulator, sqlite_url: str) -> None:
    rows = await run_steps(tmp_path, sim, sqlite_url)
    policy = candidate(tmp_path, sim)
    data = whatif("--policy", str(policy), "--db", sqlite_url, "--execution-id", "e2")
    assert data["steps"] == 1 and data["execution_id"] == "e2"
    assert Decimal(data["total"]["cost_now"]) == mini_cost(rows[1])


def test_old_rows_without_the_new_columns(tmp_path: Path, sim_free_policy: Path) -> None:
    """A ledger at revision 0003 (no routing columns): migrated on open, replayed as is."""
    db = tmp_path / "old.db"
    url = f"sqlite:///{db}"
    command.upgrade(alembic_config(url), "0003_step_results")
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    conn = sqlite3.connect(db)
    insert = (
        "INSERT INTO model_usage (id, execution_id, node_id, model_name, provider, "
        "prompt_tokens, completion_tokens, total_tokens, cost, latency_ms, status, error_type, "
        "attempt, is_fallback, created_at) VALUES (?, 'old-1', 'n', ?, 'openai', ?, ?, ?, ?, "
        "10, ?, ?, ?, ?, ?)"
    )
    # One step: a timeout on gpt-4o, then gpt-4o-mini answered (1000 in, 200 out).
    conn.execute(insert, ("a", "gpt-4o", 0, 0, 0, 0, "error", "timeout", 1, 0, now))
    # SQLite keeps money as integers of 1e-10 USD: 0.00027 is 2_700_000.
    conn.execute(
        insert, ("b", "gpt-4o-mini", 1000, 200, 1200, 2_700_000, "success", None, 2, 1, now)
    )
    conn.commit()
    conn.close()
    data = whatif("--policy", str(sim_free_policy), "--db", url)
    assert data["old_steps"] == 1 and data["steps"] == 1
    assert Decimal(data["total"]["cost_then"]) == Decimal("0.00027")
    # Replayed with the model its first attempt went to (gpt-4o, not in the candidate), so
    # the candidate's fallback chain takes it: gpt-4o-mini at 1000 in, 200 out.
    assert Decimal(data["total"]["cost_now"]) == (1000 * MINI_IN + 200 * MINI_OUT) / THOUSAND
    assert [g["name"] for g in data["by_task_type"]] == ["(not recorded)"]


@pytest.fixture
def sim_free_policy(tmp_path: Path) -> Path:
    path = tmp_path / "free.yml"
    path.write_text(yaml.safe_dump(sim_policy_data("http://127.0.0.1:9")))
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--days", "2", "--since", "2026-01-01"], "--days and --since exclude each other"),
        (["--since", "yesterday"], "--since 'yesterday' is not a date: give YYYY-MM-DD"),
        (["--days", "0"], "--days 0 is too small: give 1 or more"),
    ],
)
def test_bad_flags_name_the_flag_and_the_fix(
    sim_free_policy: Path, sqlite_url: str, args: list[str], message: str
) -> None:
    result = runner.invoke(
        app, ["whatif", "--policy", str(sim_free_policy), "--db", sqlite_url, *args]
    )
    assert result.exit_code == 1
    assert message in result.output


def test_missing_policy_file(tmp_path: Path, sqlite_url: str) -> None:
    result = runner.invoke(
        app, ["whatif", "--policy", str(tmp_path / "nope.yml"), "--db", sqlite_url]
    )
    assert result.exit_code == 1
    assert "--policy" in result.output and "no such file" in result.output
