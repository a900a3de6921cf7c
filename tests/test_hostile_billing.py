"""Issue 13, sections 1 and 2, through the executor: a loopback provider, real databases.

A hostile step author (ids the ledger's columns cannot hold) and a lying provider (usage that
cannot be true) must never leave a billed call without a ledger row, nor let the provider
bill more than the daily budget allows. Calls are counted at the loopback server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sim_policy import sim_policy_file

from auterity_ai_step import AIStepExecutor, WorkflowNode
from auterity_ai_step.core.executor import default_engine
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.routing.health import Quarantine
from auterity_ai_step.simulator.server import ModelBehaviour, Scenario, Simulator
from auterity_ai_step.store.ledger import Ledger

MAX_TOKENS = 100
STEP: dict[str, Any] = {
    "config_version": 2,
    "prompt": "Hi",
    "model": "gpt-4o-mini",
    "max_tokens": MAX_TOKENS,
    "cost_limit": 0.001,
}
# gpt-4o-mini in sim_policy: 0.00015 in / 0.0006 out per 1k tokens.
IN_PER_TOKEN = Decimal("0.00015") / 1000
OUT_PER_TOKEN = Decimal("0.0006") / 1000
LONG_NODE = "node-" + "n" * 295
LONG_EXEC = "exec-" + "e" * 295


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "pg_db_url"
    return str(request.getfixturevalue(name))


def _executor(path: Path, url: str) -> AIStepExecutor:
    ledger = Ledger(url)
    store = PolicyStore(path, overrides=ledger.model_configurations, check_interval_s=0)
    return AIStepExecutor(engine=default_engine(store, ledger))


async def _run(
    executor: AIStepExecutor, exec_id: str = "e", node_id: str = "n", **step: Any
) -> Any:
    node = WorkflowNode(id=node_id, type="ai", data={**STEP, **step})
    return await executor.execute_step(node, {}, execution_id=exec_id)


@pytest.fixture
async def liar() -> AsyncIterator[Simulator]:
    """gpt-4o-mini lies per test (set ``liar.scenario.models``); claude answers honestly."""
    honest = ModelBehaviour(prompt_tokens=10, completion_tokens=50)
    async with Simulator(Scenario(default=honest)) as simulator:
        yield simulator


LIES = {
    "negative": ModelBehaviour(prompt_tokens=10, completion_tokens=-1000),
    "missing": ModelBehaviour(usage=False, answer="word " * 2000),
}


@pytest.mark.parametrize("lie", sorted(LIES))
async def test_untrustworthy_usage_is_an_anomaly_charged_at_the_worst_case(
    tmp_path: Path, liar: Simulator, db_url: str, lie: str
) -> None:
    liar.scenario.models["gpt-4o-mini"] = LIES[lie]
    executor = _executor(sim_policy_file(tmp_path, liar.base_url), db_url)
    result = await _run(executor, "lie")
    assert result.success, result.error_message
    [attempt] = result.output_data["ai_attempts"]
    code = {"negative": "negative_usage", "missing": "missing_usage"}[lie]
    assert attempt["usage_anomaly"].startswith(code)
    assert "charged the reserved worst case" in attempt["usage_anomaly"]
    cost = Decimal(attempt["cost"])
    # The worst case: at least max_tokens of output, never above the step's cost_limit.
    assert MAX_TOKENS * OUT_PER_TOKEN < cost <= Decimal("0.001")
    [row] = executor.ledger.execution_usage("lie")
    assert row["usage_anomaly"] == attempt["usage_anomaly"]
    assert row["cost"] == cost and row["completion_tokens"] >= 0
    assert executor.ledger.day_status(executor.engine.guard.today()) == (cost, 0)
    executor.ledger.close()


async def test_an_over_reporting_model_is_quarantined_at_once(
    tmp_path: Path, liar: Simulator, db_url: str
) -> None:
    # 100 times max_tokens, at every call; 4 processes x 50 steps reached $0.40 on main.
    liar.scenario.models["gpt-4o-mini"] = ModelBehaviour(
        prompt_tokens=10, completion_tokens=100 * MAX_TOKENS
    )
    policy = sim_policy_file(tmp_path, liar.base_url, daily_budget=0.05)
    executor = _executor(policy, db_url)
    heard: list[Quarantine] = []
    unsubscribe = executor.on_model_quarantined(heard.append)
    step = {"fallback_models": ["claude-haiku-4-5"], "cost_limit": 0.1}
    results = [await _run(executor, f"q{i}", **step) for i in range(50)]
    unsubscribe()
    assert liar.count("gpt-4o-mini") == 1  # one lie, then never called again
    assert [q.model for q in heard] == ["gpt-4o-mini"]
    assert heard[0].cooldown_s >= 3600 and "over_max_tokens" in heard[0].reason
    assert executor.engine.breaker.reason("gpt-4o-mini") == heard[0].reason
    first = results[0].output_data["ai_attempts"][0]
    assert first["usage_anomaly"].startswith("over_max_tokens")
    reported = 10 * IN_PER_TOKEN + 100 * MAX_TOKENS * OUT_PER_TOKEN
    assert Decimal(first["cost"]) == reported  # charged as reported: the bill will say so
    later = results[1].output_data
    assert later["ai_model"] == "claude-haiku-4-5"
    assert any("quarantined" in s["reason"] for s in later["ai_skipped"])
    [row] = executor.ledger.execution_usage("q0")
    assert row["usage_anomaly"] == first["usage_anomaly"]
    executor.ledger.close()


@pytest.mark.postgres
async def test_hostile_ids_and_token_counts_still_end_in_rows(
    tmp_path: Path, liar: Simulator, pg_db_url: str
) -> None:
    executor = _executor(sim_policy_file(tmp_path, liar.base_url), pg_db_url)
    hostile = [(LONG_EXEC, LONG_NODE), ("exec\x00nul", "node\x00nul"), (LONG_EXEC + "2", "n")]
    for exec_id, node_id in hostile:
        result = await _run(executor, exec_id, node_id)
        assert result.success, result.error_message
        assert "ledger_pending" not in result.output_data["ai_attempts"][0]
        assert len(executor.ledger.execution_usage(exec_id)) == 1
    # 3 billion prompt tokens: over a 32-bit column and over the context window.
    liar.scenario.models["gpt-4o-mini"] = ModelBehaviour(
        prompt_tokens=3 * 10**9, completion_tokens=10
    )
    result = await _run(executor, "huge", "n", cost_limit=10)
    assert result.success, result.error_message
    [row] = executor.ledger.execution_usage("huge")
    assert row["prompt_tokens"] == 3 * 10**9
    assert row["usage_anomaly"].startswith("over_context_window")
    spent, reserved = executor.ledger.day_status(executor.engine.guard.today())
    rows = [r for e, _ in hostile for r in executor.ledger.execution_usage(e)]
    assert spent == sum(r["cost"] for r in [*rows, row]) and reserved == 0
    executor.ledger.close()


@pytest.mark.postgres
async def test_budget_holds_over_expiry_windows_with_hostile_ids(
    tmp_path: Path, pg_db_url: str
) -> None:
    """The attack: ids the columns cannot hold made every settle fail after the provider
    billed; leaked reservations expired back into the budget, and the provider billed about
    4 calls per window while the ledger showed nothing spent."""
    budget = Decimal("0.0003")
    honest = ModelBehaviour(latency_ms=150, prompt_tokens=10, completion_tokens=MAX_TOKENS)
    billed_per_call = 10 * IN_PER_TOKEN + MAX_TOKENS * OUT_PER_TOKEN
    async with Simulator(Scenario(default=honest)) as sim:
        policy = sim_policy_file(tmp_path, sim.base_url, daily_budget=float(budget))
        executor = _executor(policy, pg_db_url)
        ledger = executor.ledger
        results: list[Any] = []
        for window in range(3):
            steps = [
                _run(executor, f"w{window}-{i}", (f"node\x00{i}", "n" * 300)[i % 2])
                for i in range(8)
            ]
            tasks = [asyncio.ensure_future(s) for s in steps]
            await asyncio.sleep(0.05)  # the steps are at the provider now
            await asyncio.to_thread(ledger.expire_reservations, -1)  # expiry mid-call
            results.extend(await asyncio.gather(*tasks))
            await asyncio.to_thread(ledger.expire_reservations, -1)  # the window ends
        billed = sim.count() * billed_per_call
        spent, reserved = ledger.day_status(executor.engine.guard.today())
        print(f"calls billed {sim.count()}: {billed} of budget {budget}; ledger spent {spent}")
        assert all(r.success or "daily_budget" in r.error_message for r in results)
        assert billed <= budget
        assert reserved == 0
        assert spent == billed  # every billed call is in the ledger, at its actual cost
        assert ledger.totals(1)["calls"] == sim.count()
        assert ledger.outbox.pending() == 0
        ledger.close()


async def test_a_refused_ledger_write_is_kept_and_the_step_says_so(
    tmp_path: Path, liar: Simulator, db_url: str
) -> None:
    from sqlalchemy import create_engine, text

    executor = _executor(sim_policy_file(tmp_path, liar.base_url), db_url)
    assert (await _run(executor, "before")).success  # tables exist
    engine = create_engine(db_url)
    sqlite = engine.dialect.name == "sqlite"
    refuse = (
        "CREATE TRIGGER refuse BEFORE INSERT ON model_usage WHEN NEW.node_id = 'poison' "
        "BEGIN SELECT RAISE(ABORT, 'refused by policy'); END",
    )
    if not sqlite:
        refuse = (
            "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN IF NEW.node_id = 'poison' "
            "THEN RAISE EXCEPTION 'refused by policy'; END IF; RETURN NEW; END $$ "
            "LANGUAGE plpgsql",
            "CREATE TRIGGER refuse BEFORE INSERT ON model_usage "
            "FOR EACH ROW EXECUTE FUNCTION refuse()",
        )
    with engine.begin() as conn:
        for statement in refuse:
            conn.execute(text(statement))
    result = await _run(executor, "refused", "poison")
    # The provider answered and billed: the step keeps its answer and says where the row is.
    assert result.success, result.error_message
    [attempt] = result.output_data["ai_attempts"]
    assert "kept in the ledger outbox" in attempt["ledger_pending"]
    assert "refused by policy" in attempt["ledger_pending"]
    assert executor.ledger.outbox.pending() == 1
    today = executor.engine.guard.today()
    assert executor.ledger.day_status(today)[1] > 0  # still reserved: nothing overspent
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER refuse" + ("" if sqlite else " ON model_usage")))
    engine.dispose()
    assert (await _run(executor, "after")).success  # the next write replays the kept one
    assert executor.ledger.outbox.pending() == 0
    assert len(executor.ledger.execution_usage("refused")) == 1
    spent, reserved = executor.ledger.day_status(today)
    rows = [r for e in ("before", "refused", "after") for r in executor.ledger.execution_usage(e)]
    assert spent == sum(r["cost"] for r in rows) and reserved == 0
    executor.ledger.close()
