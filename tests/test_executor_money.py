"""Limits, budgets and live model configurations, through the executor and a real ledger."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sim_policy import sim_policy_file

from auterity_ai_step import AIStepExecutor, WorkflowNode
from auterity_ai_step.core.executor import default_engine
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.money.limits import BudgetAlert
from auterity_ai_step.money.prices import money_text
from auterity_ai_step.simulator.server import ModelBehaviour, Scenario, Simulator
from auterity_ai_step.store.ledger import Ledger

STEP = {"config_version": 2, "prompt": "Hi", "model": "gpt-4o-mini", "max_tokens": 100}


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    fixed = ModelBehaviour(completion_tokens=100)
    async with Simulator(Scenario(default=fixed)) as simulator:
        yield simulator


def _executor(path: Path, url: str) -> AIStepExecutor:
    ledger = Ledger(url)
    store = PolicyStore(path, overrides=ledger.model_configurations, check_interval_s=0)
    return AIStepExecutor(engine=default_engine(store, ledger))


async def _run(executor: AIStepExecutor, data: dict[str, Any], exec_id: str = "e") -> Any:
    node = WorkflowNode(id="n", type="ai", data=data)
    return await executor.execute_step(node, {}, execution_id=exec_id)


async def test_daily_budget_is_a_hard_limit_and_alerts_once(
    tmp_path: Path, sim: Simulator, sqlite_url: str
) -> None:
    # Each step reserves about 0.00006 (its worst case: 100 output tokens at 0.0006/1k plus
    # the prompt with margin) and spends about 0.00006, so 0.0005 pays for several, not 12.
    policy = sim_policy_file(tmp_path, sim.base_url, daily_budget=0.0005, alert_threshold=50)
    executor = _executor(policy, sqlite_url)
    alerts: list[BudgetAlert] = []
    executor.on_budget_alert(alerts.append)
    results = [await _run(executor, STEP, f"b{i}") for i in range(12)]
    ok = [r for r in results if r.success]
    refused = [r for r in results if not r.success]
    assert ok and refused
    assert all("daily_budget" in r.error_message for r in refused)
    spent, reserved = executor.ledger.day_status(executor.engine.guard.today())
    assert spent <= Decimal("0.0005")
    assert reserved == 0
    assert spent == sum(Decimal(r.output_data["ai_cost"]) for r in ok)
    assert sim.count() == len(ok)
    assert len(alerts) == 1
    assert alerts[0].daily_budget == Decimal("0.0005")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "pg_db_url"
    return str(request.getfixturevalue(name))


async def test_budget_alert_amounts_are_plain_money(
    tmp_path: Path, sim: Simulator, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # The ledger stores 1e-10 units (PostgreSQL Numeric(18, 10), SQLite scaled integers):
    # read back, the day's spend is e.g. 0.0000690000. The hook and the log get 0.000069.
    policy = sim_policy_file(tmp_path, sim.base_url, daily_budget=0.002, alert_threshold=1)
    executor = _executor(policy, db_url)
    alerts: list[BudgetAlert] = []
    executor.on_budget_alert(alerts.append)
    with caplog.at_level(logging.WARNING, logger="auterity_ai_step.budget"):
        first = await _run(executor, STEP, "alert-1")
        second = await _run(executor, STEP, "alert-2")
    assert first.success and second.success
    assert len(alerts) == 1  # the first step crossed 1% of 0.002
    alert = alerts[0]
    spent, _ = executor.ledger.day_status(alert.day)
    assert spent.as_tuple().exponent == -10  # the raw stored form, padded to the scale
    assert alert.spent == Decimal(first.output_data["ai_cost"]) < spent
    text = first.output_data["ai_cost"]
    assert str(alert.spent) == money_text(alert.spent) == text
    assert not text.endswith("0")
    assert (str(alert.daily_budget), str(alert.threshold_percent)) == ("0.002", "1")
    day = executor.engine.guard.today().isoformat()
    expected = f"daily budget alert for {day}: spent {text} of 0.002 (threshold 1%)"
    assert alert.message == expected
    assert [r.getMessage() for r in caplog.records] == [expected]
    executor.ledger.close()


async def test_daily_budget_refusal_shows_money_like_the_other_limits(
    tmp_path: Path, sim: Simulator, db_url: str
) -> None:
    # One step's worst case is about 0.00006 and it spends about as much: the first step
    # fits 0.0001, the second no longer does.
    policy = sim_policy_file(tmp_path, sim.base_url, daily_budget=0.0001)
    executor = _executor(policy, db_url)
    first = await _run(executor, STEP, "d1")
    assert first.success, first.error_message
    second = await _run(executor, STEP, "d2")
    assert not second.success
    assert second.output_data["ai_error_type"] == "limit_exceeded"
    spent = Decimal(first.output_data["ai_cost"])
    left = Decimal("0.0001") - spent
    day = executor.engine.guard.today().isoformat()
    reason = second.output_data["ai_skipped"][0]["reason"]
    found = re.fullmatch(
        rf"refused by daily_budget: daily_budget 0\.0001 for {day}: "
        rf"(?P<left>[0-9.]+) left \(spent (?P<spent>[0-9.]+), reserved 0\), "
        rf"attempt needs up to (?P<needed>[0-9.]+)",
        reason,
    )
    assert found, reason
    assert Decimal(found["left"]) == left and Decimal(found["spent"]) == spent
    # Each amount as money_text writes it: no padding zeros, no exponent (was "0E-10").
    for amount in found.groupdict().values():
        assert money_text(Decimal(amount)) == amount
    assert Decimal(found["needed"]) > left
    assert reason in second.error_message
    executor.ledger.close()


async def test_per_request_limit_skips_expensive_models(
    tmp_path: Path, sim: Simulator, sqlite_url: str
) -> None:
    policy = sim_policy_file(tmp_path, sim.base_url, per_request_limit=0.0003)
    executor = _executor(policy, sqlite_url)
    step = {**STEP, "model": "claude-haiku-4-5", "fallback_models": ["gpt-4o-mini"]}
    result = await _run(executor, step)
    assert result.success
    assert result.output_data["ai_model"] == "gpt-4o-mini"
    assert sim.count("claude-haiku-4-5") == 0


async def test_uncapped_step_gets_max_tokens_the_limit_pays_for(
    tmp_path: Path, sim: Simulator, sqlite_url: str
) -> None:
    policy = sim_policy_file(tmp_path, sim.base_url)
    executor = _executor(policy, sqlite_url)
    step = {"config_version": 2, "prompt": "Hi", "model": "gpt-4o-mini", "cost_limit": 0.0006}
    result = await _run(executor, step)
    assert result.success, result.error_message
    sent = sim.requests[-1].body["max_tokens"]
    assert 16 <= sent < 1000  # 0.0006 pays for < 1000 output tokens at 0.0006/1k


async def test_model_configuration_change_is_live_and_invalid_one_refused(
    tmp_path: Path, sim: Simulator, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    policy = sim_policy_file(tmp_path, sim.base_url)
    executor = _executor(policy, sqlite_url)
    step = {**STEP, "model": "dealer-llm"}
    before = await _run(executor, step)
    assert not before.success
    assert "'dealer-llm' is not a known model" in before.error_message
    executor.ledger.put_model_configurations(
        {
            "dealer-llm": {
                "provider": "openai",
                "litellm_model": "openai/dealer-llm",
                "input_cost_per_1k": 0.0001,
                "output_cost_per_1k": 0.0002,
                "context_window": 32000,
                "max_output_tokens": 2000,
                "api_base": f"{sim.base_url}/v1",
            }
        }
    )
    after = await _run(executor, step)
    assert after.success, after.error_message
    assert sim.count("dealer-llm") == 1
    executor.ledger.put_model_configurations(
        {"dealer-llm": {"provider": "openai", "input_cost_per_1k": -1}}
    )
    still = await _run(executor, step)
    assert still.success
    assert "input_cost_per_1k" in (executor.policy_store.last_error or "")


async def test_failed_attempts_release_their_reservations(
    tmp_path: Path, sim: Simulator, sqlite_url: str
) -> None:
    sim.scenario.models["broken-model"] = ModelBehaviour(outcomes=(500,))
    policy = sim_policy_file(tmp_path, sim.base_url)
    executor = _executor(policy, sqlite_url)
    results = await asyncio.gather(
        *(_run(executor, {**STEP, "model": "broken"}, f"r{i}") for i in range(5))
    )
    assert all(r.success for r in results)
    spent, reserved = executor.ledger.day_status(executor.engine.guard.today())
    assert reserved == 0
    assert spent == sum(Decimal(r.output_data["ai_cost"]) for r in results)
    rows = [row for i in range(5) for row in executor.ledger.execution_usage(f"r{i}")]
    assert len(rows) == sim.count()
