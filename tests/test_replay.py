"""Idempotent re-runs: a succeeded step answers again from the ledger and pays once.

Real LiteLLM transport to the loopback simulator (which counts the calls it is paid for),
real SQLite files, and two real worker processes racing on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from auterity_ai_step import AIStepExecutor, WorkflowNode, execution_context, load_policy
from auterity_ai_step.cli.demo import simulated_policy
from auterity_ai_step.contract.policy import Policy
from auterity_ai_step.core.engine import Engine
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.core.replay import step_key
from auterity_ai_step.routing.health import CircuitBreaker
from auterity_ai_step.simulator.server import ModelBehaviour, Scenario, Simulator
from auterity_ai_step.store.ledger import Ledger

STEP = {
    "config_version": 2,
    "prompt": "Reply to {{ customer }} about their {{ car }}.",
    "model": "gpt-4o-mini",
    "policy_fallbacks": False,
    "max_tokens": 50,
}
INPUT = {"customer": "Dana", "car": "Civic"}
KEY = "sk-test-replay-abcdefghijklmnopqrstuvwxyz0123"


def _policy(base_url: str, step_time_budget_s: float = 20.0) -> Policy:
    policy = simulated_policy(load_policy(), base_url)
    retry = policy.retry.model_copy(update={"step_time_budget_s": step_time_budget_s})
    return policy.model_copy(update={"retry": retry})


def _executor(policy: Policy, ledger: Ledger) -> AIStepExecutor:
    breaker = CircuitBreaker(policy.circuit.failure_threshold, policy.circuit.cooldown_s)
    return AIStepExecutor(engine=Engine(PolicyStore.fixed(policy), ledger, breaker=breaker))


class Rig:
    def __init__(self, sim: Simulator, ledger: Ledger, executor: AIStepExecutor) -> None:
        self.sim, self.ledger, self.executor = sim, ledger, executor

    async def run(
        self,
        data: dict[str, Any] | None = None,
        input_data: dict[str, Any] | None = None,
        execution_id: str | None = "exec-replay-1",
    ) -> Any:
        node = WorkflowNode(id="reply", type="ai", data=data or STEP)
        return await self.executor.execute_step(
            node, dict(input_data or INPUT), execution_id=execution_id
        )

    def statuses(self, execution_id: str = "exec-replay-1") -> list[str]:
        return [row["status"] for row in self.ledger.execution_usage(execution_id)]


@pytest.fixture
async def rig(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Rig]:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    async with Simulator(Scenario()) as sim:
        ledger = Ledger(sqlite_url)
        yield Rig(sim, ledger, _executor(_policy(sim.base_url, 1.0), ledger))
        ledger.close()


async def test_a_rerun_of_a_succeeded_step_replays_its_answer_and_pays_nothing(rig: Rig) -> None:
    first = await rig.run()
    assert first.success and "ai_replayed" not in first.output_data
    assert rig.sim.count() == 1

    again = await rig.run()
    assert again.success, again.error_message
    assert rig.sim.count() == 1  # no second paid call
    out = again.output_data
    assert out["ai_replayed"] is True
    for key in ("ai_response", "ai_model", "ai_usage", "ai_cost", "ai_attempts", "ai_provider"):
        assert out[key] == first.output_data[key]
    assert out["processed_data"] == INPUT
    assert out["ai_execution_id"] == "exec-replay-1"
    assert rig.statuses() == ["success", "replayed"]
    replayed = rig.ledger.execution_usage("exec-replay-1")[1]
    assert replayed["cost"] == 0 and replayed["total_tokens"] == 0
    assert replayed["model_name"] == "gpt-4o-mini"


async def test_the_execution_context_counts_as_a_known_id(rig: Rig) -> None:
    with execution_context("exec-ctx"):
        await rig.run(execution_id=None)
        second = await rig.run(execution_id=None)
    assert second.output_data["ai_replayed"] is True
    assert second.output_data["ai_execution_id_source"] == "context"
    assert rig.sim.count() == 1


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"input_data": {"customer": "Dana", "car": "Accord"}}, "other input"),
        ({"execution_id": "exec-replay-2"}, "other execution"),
        ({"data": {**STEP, "max_tokens": 60}}, "other config"),
        ({"data": {**STEP, "idempotent": False}}, "turned off"),
    ],
)
async def test_a_different_step_or_an_opt_out_pays_again(
    rig: Rig, change: dict[str, Any], why: str
) -> None:
    await rig.run()
    again = await rig.run(**change)
    assert again.success
    assert "ai_replayed" not in again.output_data, why
    assert rig.sim.count() == 2, why


async def test_a_generated_execution_id_is_never_replayed(rig: Rig) -> None:
    first = await rig.run(execution_id=None)
    second = await rig.run(execution_id=None)
    assert first.output_data["ai_execution_id_source"] == "generated"
    assert "ai_replayed" not in second.output_data
    assert rig.sim.count() == 2


async def test_a_failed_step_gives_its_claim_up_so_a_retry_runs(rig: Rig) -> None:
    rig.sim.scenario.models["gpt-4o-mini"] = ModelBehaviour(outcomes=(401, "ok"), cycle=False)
    rig.sim.reset()
    failed = await rig.run()
    assert not failed.success
    retried = await rig.run()
    assert retried.success and "ai_replayed" not in retried.output_data
    assert rig.sim.count() == 2
    assert (await rig.run()).output_data["ai_replayed"] is True
    assert rig.sim.count() == 2


async def test_a_step_another_worker_holds_waits_then_says_in_progress(rig: Rig) -> None:
    key = step_key("exec-replay-1", "reply", STEP, INPUT)
    assert key is not None
    held = rig.ledger.claim_step(
        key, owner="other-worker", execution_id="exec-replay-1", node_id="reply", stale_after_s=600
    )
    assert held.state == "claimed"
    result = await rig.run()  # step time budget 1 s: waits that long, calls nothing
    assert not result.success
    assert result.output_data["ai_error_type"] == "in_progress"
    assert "another worker is running this step" in (result.error_message or "")
    assert "idempotent: false" in (result.error_message or "")
    assert rig.sim.count() == 0


async def test_a_waiting_step_replays_the_other_workers_answer(rig: Rig) -> None:
    key = step_key("exec-replay-1", "reply", STEP, INPUT)
    assert key is not None
    rig.ledger.claim_step(
        key, owner="other-worker", execution_id="exec-replay-1", node_id="reply", stale_after_s=600
    )

    async def other_worker_finishes() -> None:
        await asyncio.sleep(0.2)
        answer = {"ai_response": "From the other worker.", "ai_model": "gpt-4o-mini"}
        assert rig.ledger.finish_step(key, owner="other-worker", output=answer)

    waiting, _ = await asyncio.gather(rig.run(), other_worker_finishes())
    assert waiting.success and waiting.output_data["ai_replayed"] is True
    assert waiting.output_data["ai_response"] == "From the other worker."
    assert rig.sim.count() == 0


async def test_a_stale_claim_of_a_dead_worker_is_taken_over(rig: Rig) -> None:
    key = step_key("exec-replay-1", "reply", STEP, INPUT)
    assert key is not None
    rig.ledger.claim_step(
        key, owner="dead-worker", execution_id="exec-replay-1", node_id="reply", stale_after_s=600
    )
    taken = rig.ledger.claim_step(
        key, owner="new-worker", execution_id="exec-replay-1", node_id="reply", stale_after_s=0
    )
    assert taken.state == "claimed"
    assert not rig.ledger.finish_step(key, owner="dead-worker", output={"ai_response": "late"})
    assert rig.ledger.finish_step(key, owner="new-worker", output={"ai_response": "kept"})
    assert rig.ledger.claim_step(
        key, owner="third", execution_id="exec-replay-1", node_id="reply", stale_after_s=0
    ).output == {"ai_response": "kept"}


def test_the_key_is_stable_and_covers_every_part() -> None:
    base = step_key("e", "n", {"prompt": "x", "b": [1, 2]}, {"a": 1, "z": "2"})
    assert base == step_key("e", "n", {"b": [1, 2], "prompt": "x"}, {"z": "2", "a": 1})
    assert base is not None and len(base) == 64
    others = [
        step_key("e2", "n", {"prompt": "x", "b": [1, 2]}, {"a": 1, "z": "2"}),
        step_key("e", "n2", {"prompt": "x", "b": [1, 2]}, {"a": 1, "z": "2"}),
        step_key("e", "n", {"prompt": "y", "b": [1, 2]}, {"a": 1, "z": "2"}),
        step_key("e", "n", {"prompt": "x", "b": [1, 2]}, {"a": 2, "z": "2"}),
    ]
    assert base not in others and len(set(others)) == 4
    assert step_key("e", "n", {}, {"obj": object()}) is None  # no stable form: no replay


# -- two worker processes racing on PostgreSQL --------------------------------------------


def _race_worker(url: str, base_url: str, barrier: Any, results: Any) -> None:
    """One worker process: the same step of the same execution, released together."""
    ledger = Ledger(url)
    executor = _executor(_policy(base_url), ledger)
    node = WorkflowNode(id="reply", type="ai", data=STEP)

    async def main() -> Any:
        return await executor.execute_step(node, dict(INPUT), execution_id="exec-race")

    ledger.day_status(ledger_today())
    barrier.wait(timeout=60)
    result = asyncio.run(main())
    ledger.close()
    results.put((result.success, bool(result.output_data.get("ai_replayed")), result.error_message))


def ledger_today() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC).date()


@pytest.mark.postgres
async def test_two_workers_racing_on_postgresql_pay_once(
    pg_db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    scenario = Scenario()
    scenario.models["gpt-4o-mini"] = ModelBehaviour(latency_ms=400)
    sim = Simulator(scenario)
    base_url, stop = sim.run_in_thread()
    try:
        Ledger(pg_db_url).day_status(ledger_today())  # tables first
        ctx = multiprocessing.get_context("spawn")
        barrier, results = ctx.Barrier(2), ctx.Queue()
        procs = [
            ctx.Process(target=_race_worker, args=(pg_db_url, base_url, barrier, results))
            for _ in range(2)
        ]
        for proc in procs:
            proc.start()
        outcomes = [await asyncio.to_thread(results.get, True, 120) for _ in procs]
        for proc in procs:
            await asyncio.to_thread(proc.join, 30)
            assert proc.exitcode == 0
    finally:
        stop()
    assert sorted(o[:2] for o in outcomes) == [(True, False), (True, True)], outcomes
    assert sim.count() == 1
    ledger = Ledger(pg_db_url)
    try:
        rows = ledger.execution_usage("exec-race")
        assert sorted(row["status"] for row in rows) == ["replayed", "success"]
    finally:
        ledger.close()


async def test_replays_are_rows_of_the_execution_but_not_provider_calls(rig: Rig) -> None:
    await rig.run()
    await rig.run()
    await rig.run()
    assert rig.statuses() == ["success", "replayed", "replayed"]
    totals = rig.ledger.totals(1)
    assert totals["calls"] == 1 and totals["by_model"][0]["calls"] == 1
