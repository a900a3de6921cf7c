"""PostgreSQL stopped and restarted while the executor runs steps: no row lost, no overspend.

``tests/store/test_outage.py`` covers the ledger alone; here whole steps run through the
real LiteLLM transport to the simulator while the database goes away and comes back.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest
from pg_server import PostgresServer

from auterity_ai_step import AIStepExecutor, WorkflowNode, load_policy
from auterity_ai_step.cli.demo import simulated_policy
from auterity_ai_step.core.engine import Engine
from auterity_ai_step.core.host import StepExecutionResult
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.simulator.server import ModelBehaviour, Scenario, Simulator
from auterity_ai_step.store.ledger import Ledger

pytestmark = pytest.mark.postgres

STEP = {
    "config_version": 2,
    "prompt": "Reply to customer {{ n }}.",
    "model": "gpt-4o-mini",
    "fallback_models": ["gpt-4.1-mini"],
    "max_tokens": 50,
}
# gpt-4o-mini: 40 completion tokens cost 0.000024 a step; the budget pays for ~50 steps.
DAILY_BUDGET = Decimal("0.0012")
WORKERS = 6


async def test_postgres_restart_mid_run_loses_nothing(
    postgres_server: PostgresServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-db-faults-0123456789abcdefghij")
    url = postgres_server.create_database("auterity_resilience_faults")
    behaviour = ModelBehaviour(latency_ms=20, prompt_tokens=1, completion_tokens=40)
    sleeps: list[float] = []

    async def no_wait(seconds: float) -> None:
        sleeps.append(seconds)

    async with Simulator(Scenario(default=behaviour, seed=1)) as sim:
        policy = simulated_policy(load_policy(), sim.base_url)
        policy = policy.model_copy(
            update={
                "cost_controls": policy.cost_controls.model_copy(
                    update={"daily_budget": DAILY_BUDGET}
                )
            }
        )
        ledger = Ledger(url, spool_path=tmp_path / "outbox.jsonl")
        engine = Engine(PolicyStore.fixed(policy), ledger, sleep=no_wait)
        executor = AIStepExecutor(engine=engine)
        results: list[StepExecutionResult] = []
        counter = iter(range(10_000))
        phase = {"stop": False}

        async def worker() -> None:
            while not phase["stop"]:
                n = next(counter)
                node = WorkflowNode(id=f"n{n}", type="ai", data=STEP)
                results.append(await executor.execute_step(node, {"n": n}, execution_id=f"db-{n}"))

        async def wait_for_steps(count: int) -> None:
            target = len(results) + count
            for _ in range(6000):  # bounded: at most ~60 s whatever the machine
                if len(results) >= target:
                    return
                await asyncio.sleep(0.01)
            raise AssertionError(f"steps stalled at {len(results)}")

        tasks = [asyncio.create_task(worker()) for _ in range(WORKERS)]
        try:
            await wait_for_steps(15)
            await asyncio.to_thread(postgres_server.stop)
            try:
                await wait_for_steps(2 * WORKERS)  # steps run (and fail) while it is down
            finally:
                await asyncio.to_thread(postgres_server.start)
            await wait_for_steps(80)  # long enough to reach the daily budget
        finally:
            phase["stop"] = True
            await asyncio.gather(*tasks)
        received = sim.count()

    assert all(isinstance(r, StepExecutionResult) for r in results)
    for r in results:
        assert r.success or r.error_message, r
    down = [r for r in results if "could not reserve budget" in (r.error_message or "")]
    assert down, "some steps should have met the database outage"
    assert any("daily_budget" in (r.error_message or "") for r in results)

    ledger.flush_pending()
    assert ledger.outbox.pending() == 0
    check = Ledger(url)
    rows = check.totals(1)
    spent, reserved = check.day_status(engine.guard.today())
    attempts = sum(len(r.output_data.get("ai_attempts", [])) for r in results)
    assert rows["calls"] == received == attempts, "one usage row per request the server got"
    assert reserved == 0
    assert spent == rows["total_cost"]
    assert spent <= DAILY_BUDGET
    assert spent == sum((Decimal(r.output_data.get("ai_cost", "0")) for r in results), Decimal(0))
    check.close()
    ledger.close()
