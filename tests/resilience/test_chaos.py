"""Chaos run: 250 steps at concurrency 25 over four provider families answering at random.

The simulator plays seeded chaos for every model (429 with Retry-After, 500/503, timeouts,
dropped connections, malformed JSON, slow answers); the real LiteLLM transport and a real
SQLite ledger sit in between. Backoff sleeps are recorded, never waited. No timing is
asserted: only that every step ends cleanly and that the books balance exactly.

250 steps make about 400 attempts with every fault kind dozens of times, circuits opening
and half-opening, and the daily budget (scaled with the step count) running out part-way:
each invariant below is exercised many times over, at a quarter of the old 1,000 steps'
time.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from contextvars import ContextVar
from decimal import Decimal
from itertools import pairwise
from typing import Any

import pytest

from auterity_ai_step import AIStepExecutor, WorkflowNode, load_policy
from auterity_ai_step.cli.demo import simulated_policy
from auterity_ai_step.core.engine import Engine
from auterity_ai_step.core.host import StepExecutionResult
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.simulator.server import ModelBehaviour, Scenario, Simulator
from auterity_ai_step.store.ledger import Ledger

SECRETS = {
    "OPENAI_API_KEY": "sk-test-openai-chaos-0123456789abcdefghijkl",
    "ANTHROPIC_API_KEY": "sk-test-anthropic-chaos-0123456789abcdefgh",
    "HUGGINGFACE_API_KEY": "sk-test-hf-chaos-0123456789abcdefghijklmn",
    "COHERE_API_KEY": "sk-test-cohere-chaos-0123456789abcdefghijk",
}
FAMILIES = ["gpt-4o-mini", "claude-haiku-4-5", "llama3.1", "llama-3.1-8b-instruct", "command-r"]
CHAOS = {
    "ok": 55,
    "429 retry-after=1": 8,
    "500": 7,
    "503": 4,
    "timeout": 5,
    "drop": 6,
    "malformed": 6,
}
DAILY_BUDGET = Decimal("0.005")
current_step: ContextVar[str | None] = ContextVar("chaos_step", default=None)
STEPS, CONCURRENCY = 250, 25


def _behaviour(latency_ms: float) -> ModelBehaviour:
    # Usage the provider reports never exceeds the reserved worst case: 1 prompt token
    # (below any count of ours) and 40 completion tokens (below max_tokens).
    return ModelBehaviour(
        latency_ms=latency_ms, chaos=CHAOS, hang_s=3, prompt_tokens=1, completion_tokens=40
    )


def _scenario() -> Scenario:
    # "Slow answers": the local model takes 150 ms, against 5-30 ms for the others.
    return Scenario(
        models={
            "gpt-4o-mini": _behaviour(5),
            "gpt-4.1-mini": _behaviour(5),
            "claude-haiku-4-5": _behaviour(30),
            "llama3.1": _behaviour(150),
        },
        default=_behaviour(10),  # HuggingFace's and Cohere's wire names, anything else
        seed=20240611,
    )


def _step(i: int) -> dict[str, Any]:
    """Most steps have fallbacks (a transient error moves on at once); every fifth step
    has none, so its transient errors are retried on the same model, Retry-After and all."""
    alone = i % 5 == 4
    # Steps alone take each family in turn (i % 5 would make them all the fifth family).
    primary = FAMILIES[(i // 5 if alone else i) % len(FAMILIES)]
    return {
        "config_version": 2,
        "prompt": "Customer {{ n }} asks about the {{ car }}; answer briefly.",
        "model": primary,
        "fallback_models": [] if alone else [m for m in FAMILIES if m != primary],
        "policy_fallbacks": not alone,
        "max_tokens": 50,
        "timeout_s": 1.0,
    }


async def test_chaos_run_keeps_every_invariant(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.DEBUG)
    sleeps: list[float] = []
    slept: dict[str | None, list[float]] = {}  # by step: each step runs in its own task

    async def no_wait(seconds: float) -> None:
        sleeps.append(seconds)
        slept.setdefault(current_step.get(), []).append(seconds)

    async with Simulator(_scenario()) as sim:
        policy = simulated_policy(load_policy(), sim.base_url)
        policy = policy.model_copy(
            update={
                "cost_controls": policy.cost_controls.model_copy(
                    update={"daily_budget": DAILY_BUDGET}
                ),
                "retry": policy.retry.model_copy(update={"step_time_budget_s": 30.0}),
                # At a 40% fault rate circuits open often; a short cooldown keeps the run
                # exercising calls (and so the books) instead of skipping open models.
                "circuit": policy.circuit.model_copy(
                    update={"failure_threshold": 5, "cooldown_s": 0.2}
                ),
            }
        )
        ledger = Ledger(sqlite_url)
        engine = Engine(PolicyStore.fixed(policy), ledger, sleep=no_wait)
        executor = AIStepExecutor(engine=engine)
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(i: int) -> StepExecutionResult:
            current_step.set(f"chaos-{i}")
            async with gate:
                node = WorkflowNode(id=f"node-{i}", type="ai", data=_step(i))
                return await executor.execute_step(
                    node, {"n": i, "car": "Civic"}, execution_id=f"chaos-{i}"
                )

        # No return_exceptions: an exception escaping any step fails the test here.
        results = await asyncio.gather(*(one(i) for i in range(STEPS)))
        received = Counter(r.model for r in sim.requests if r.path != "/api/tags")

    assert len(results) == STEPS
    assert all(isinstance(r, StepExecutionResult) for r in results)
    failures = [r for r in results if not r.success]
    for r in failures:
        assert r.error_message and r.error_message.startswith("AI processing failed: "), r
    successes = len(results) - len(failures)
    assert successes > STEPS // 4, Counter(r.error_message[:60] for r in failures)
    assert any("daily_budget" in (r.error_message or "") for r in failures), (
        "the daily budget should have been reached part-way through the run"
    )

    # Every attempt made is one ledger row; rows are attempts per step exactly.
    attempts = [a for r in results for a in r.output_data["ai_attempts"]]
    per_step = {
        r.output_data["ai_execution_id"]: len(r.output_data["ai_attempts"]) for r in results
    }
    rows = {eid: ledger.execution_usage(eid) for eid in per_step}
    assert {eid: len(found) for eid, found in rows.items()} == per_step
    total_rows = ledger.totals(1)["calls"]
    assert total_rows == len(attempts)
    # The server received one request per attempt, except LiteLLM's transport may open a
    # second connection after a dropped one; an attempt never reaches the server twice.
    assert sum(received.values()) <= len(attempts)
    dropped = sum(1 for a in attempts if a["error_type"] == "unavailable")
    assert len(attempts) - sum(received.values()) <= dropped
    assert set(received) >= {"gpt-4o-mini", "claude-haiku-4-5", "llama3.1"}

    # Money: recorded spend == sum of settled attempts == sum of step costs, within budget.
    spent, reserved = ledger.day_status(engine.guard.today())
    row_costs = sum((Decimal(str(x["cost"])) for found in rows.values() for x in found), Decimal(0))
    step_costs = sum((Decimal(r.output_data["ai_cost"]) for r in results), Decimal(0))
    assert reserved == 0
    assert spent == row_costs == step_costs
    assert 0 < spent <= DAILY_BUDGET
    assert all(Decimal(a["cost"]) == 0 for a in attempts if a["outcome"] != "success")
    # A 429 retried on the same model waited its Retry-After (1 s). Which steps draw a 429
    # depends on how the concurrent steps interleave, so the claim is checked where it arose.
    retried_429 = [
        eid
        for r in results
        for eid, tried in [(r.output_data["ai_execution_id"], r.output_data["ai_attempts"])]
        for first, then in pairwise(tried)
        if first["error_type"] == "rate_limited"
        and then["model"] == first["model"]
        # Cohere's Retry-After is read from LiteLLM's exception chain, which does not always
        # keep Cohere's answer (a CI run once found a Cohere 429 retried with the policy's
        # backoff); docs/guides/providers.md says so. The other families carry the header.
        and first["model"] != "command-r"
    ]
    by_step = {r.output_data["ai_execution_id"]: r.output_data["ai_attempts"] for r in results}
    ignored = {
        eid: (slept.get(eid), [(a["model"], a["error_type"]) for a in by_step[eid]])
        for eid in retried_429
        if not any(s == pytest.approx(1.0) for s in slept.get(eid, []))
    }
    assert not ignored, f"Retry-After ignored (step: its sleeps, its attempts): {ignored}"
    ledger.close()

    # No secret anywhere: logs at DEBUG, step outputs, error messages.
    text = caplog.text + repr([(r.output_data, r.error_message) for r in results])
    for secret in SECRETS.values():
        assert secret not in text
