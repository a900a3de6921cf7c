"""AIStepExecutor over the in-process fake gateway, with a real SQLite ledger.

The claims here are above the gateway (fallback order, retries, circuits, limits, ledger
rows, output keys), so the provider is ``routing.fake_gateway.ScriptedGateway``: the same
results and translated errors as the real gateway (tests/routing/test_fake_gateway.py holds
it to the loopback simulator), without LiteLLM or HTTP. The provider path itself is proven
in tests/routing (each protocol over loopback HTTP) and end to end by the CLI tests.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from auterity_ai_step import AIStepExecutor, WorkflowNode, execution_context, load_policy
from auterity_ai_step.cli.demo import simulated_policy
from auterity_ai_step.contract.policy import ModelSpec, Policy
from auterity_ai_step.core.engine import Engine
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.core.prices import PRICES
from auterity_ai_step.errors import ProviderUnavailable
from auterity_ai_step.routing.fake_gateway import ScriptedGateway, answer, http_error, outcome
from auterity_ai_step.routing.gateway import CompletionRequest, CompletionResult
from auterity_ai_step.routing.health import CircuitBreaker
from auterity_ai_step.store.ledger import Ledger

SECRET = "sk-test-abcdefghijklmnopqrstuvwxyz0123456789"


class Harness:
    """One simulator, policy, ledger and executor; sleeps are recorded, never waited."""

    def __init__(self, fake: ScriptedGateway, policy: Policy, ledger: Ledger) -> None:
        self.fake = fake
        self.policy = policy
        self.ledger = ledger
        self.sleeps: list[float] = []
        self.breaker = CircuitBreaker(policy.circuit.failure_threshold, policy.circuit.cooldown_s)
        self.engine = Engine(
            PolicyStore.fixed(policy), ledger, breaker=self.breaker, sleep=self._sleep, gateway=fake
        )
        self.executor = AIStepExecutor(engine=self.engine)

    async def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def script(
        self,
        model: str,
        *outcomes: str | int | dict[str, Any],
        cycle: bool = True,
        **answered: Any,
    ) -> None:
        """The simulator's script words for ``model``; ``answered``: ``answer(...)``'s."""
        played = [
            answer(**answered)
            if o == "ok"
            else http_error(o["status"], o["message"])
            if isinstance(o, dict)
            else outcome(o)
            for o in outcomes or ("ok",)
        ]
        self.fake.script(model, *played, cycle=cycle)
        self.fake.reset()

    async def run(
        self, data: dict[str, Any], input_data: dict[str, Any] | None = None, **kw: Any
    ) -> Any:
        node = WorkflowNode(id="node-1", type="ai", data=data)
        return await self.executor.execute_step(node, input_data or {}, **kw)


BASE_URL = "http://127.0.0.1:9"  # never called: the fake gateway answers


def _policy(base_url: str = BASE_URL, **retry: Any) -> Policy:
    policy = simulated_policy(load_policy(), base_url)
    if retry:
        policy = policy.model_copy(update={"retry": policy.retry.model_copy(update=retry)})
    return policy


@pytest.fixture
async def harness(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Harness]:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    ledger = Ledger(sqlite_url)
    yield Harness(ScriptedGateway(), _policy(step_time_budget_s=20.0), ledger)
    ledger.close()


STEP = {
    "config_version": 2,
    "prompt": "Reply to {{ customer }} about their {{ car }}.",
    "model": "gpt-4o-mini",
    "fallback_models": ["claude-haiku-4-5"],
    "max_tokens": 100,
}
INPUT = {"customer": "Dana", "car": "Civic"}


async def test_success_records_one_row_with_exact_cost(harness: Harness) -> None:
    harness.script("gpt-4o-mini", "ok", prompt_tokens=1000, completion_tokens=50)
    result = await harness.run(STEP, INPUT, execution_id="exec-1")
    assert result.success, result.error_message
    out = result.output_data
    assert out["ai_model"] == "gpt-4o-mini"
    assert out["ai_provider"] == "openai"
    assert out["ai_usage"] == {"prompt_tokens": 1000, "completion_tokens": 50, "total_tokens": 1050}
    # 1000 × 0.00015/1k + 50 × 0.0006/1k
    assert Decimal(out["ai_cost"]) == Decimal("0.00018")
    assert out["processed_data"] == INPUT
    assert out["ai_execution_id"] == "exec-1"
    assert out["ai_execution_id_source"] == "argument"
    assert "ai_error_type" not in out
    assert harness.fake.count("gpt-4o-mini") == 1
    rows = harness.ledger.execution_usage("exec-1")
    assert len(rows) == 1
    assert rows[0]["status"] == "success"
    assert Decimal(str(rows[0]["cost"])) == Decimal("0.00018")
    assert rows[0]["node_id"] == "node-1"
    assert rows[0]["price_version"] == harness.policy.version


async def test_server_error_falls_back_at_once_without_a_sleep(harness: Harness) -> None:
    """A fallback fits, so a 500 goes to it now: no same-model retry, no backoff."""
    harness.script("gpt-4o-mini", 500, "ok", cycle=False)
    result = await harness.run(STEP, INPUT, execution_id="exec-2")
    assert result.success
    assert harness.fake.count("gpt-4o-mini") == 1
    assert result.output_data["ai_model"] == "claude-haiku-4-5"
    attempts = result.output_data["ai_attempts"]
    assert [(a["model"], a["outcome"]) for a in attempts] == [
        ("gpt-4o-mini", "error"),
        ("claude-haiku-4-5", "success"),
    ]
    assert attempts[0]["error_type"] == "unavailable"
    assert harness.sleeps == []
    rows = harness.ledger.execution_usage("exec-2")
    assert [r["status"] for r in rows] == ["error", "success"]


def _refused(request: CompletionRequest) -> CompletionResult:
    """What the real gateway raises when nobody listens (tests/routing/test_gateway_loopback)."""
    name = request.model.name
    raise ProviderUnavailable(
        f"{name}: http://127.0.0.1:1/v1 unreachable (ConnectError: connection refused)",
        model=name,
    )


async def test_refused_connection_falls_back_at_once_without_a_sleep(harness: Harness) -> None:
    harness.script("gpt-4o-mini", _refused, "ok", cycle=False)
    h = harness
    result = await h.run(STEP, INPUT)
    assert result.success
    attempts = result.output_data["ai_attempts"]
    assert [(a["model"], a["error_type"]) for a in attempts] == [
        ("gpt-4o-mini", "unavailable"),
        ("claude-haiku-4-5", None),
    ]
    assert h.sleeps == []


async def test_server_error_is_retried_on_the_same_model_when_no_fallback_fits(
    harness: Harness,
) -> None:
    """Alone (no fallbacks) or with fallbacks the cost limit rules out, the model is
    retried with backoff, as before."""
    harness.script("gpt-4o-mini", 500, "ok", cycle=False)
    alone = {**STEP, "fallback_models": [], "policy_fallbacks": False}
    result = await harness.run(alone, INPUT)
    assert result.success
    assert harness.fake.count("gpt-4o-mini") == 2
    assert len(harness.sleeps) == 1
    assert 0.1 <= harness.sleeps[0] <= 0.2  # initial_backoff_s 0.2, equal jitter

    harness.sleeps.clear()
    harness.script("gpt-4o-mini", 500, "ok", cycle=False)
    too_dear = {**alone, "fallback_models": ["gpt-4o"], "cost_limit": 0.0005}
    result = await harness.run(too_dear, INPUT)
    assert result.success
    assert result.output_data["ai_model"] == "gpt-4o-mini"
    assert harness.fake.count("gpt-4o-mini") == 2 and harness.fake.count("gpt-4o") == 0
    assert len(harness.sleeps) == 1


async def test_fallback_first_off_retries_the_same_model_first(harness: Harness) -> None:
    policy = _policy(fallback_first=False, max_attempts_per_model=2)
    h = Harness(harness.fake, policy, harness.ledger)
    h.script("gpt-4o-mini", 500, "ok", cycle=False)
    result = await h.run(STEP, INPUT)
    assert result.success and result.output_data["ai_model"] == "gpt-4o-mini"
    assert h.fake.count("gpt-4o-mini") == 2
    assert len(h.sleeps) == 1


async def test_the_primary_gets_its_retry_through_the_half_open_probe(harness: Harness) -> None:
    """Failing steps fall back at once until the primary's circuit opens; after the
    cooldown one step probes the primary again, and its answer closes the circuit."""
    now = [0.0]
    circuit = harness.policy.circuit
    breaker = CircuitBreaker(circuit.failure_threshold, circuit.cooldown_s, clock=lambda: now[0])
    harness.engine.breaker = breaker
    failures = (500,) * circuit.failure_threshold
    harness.script("gpt-4o-mini", *failures, "ok", cycle=False)
    for _ in range(circuit.failure_threshold):
        result = await harness.run(STEP, INPUT)
        assert result.output_data["ai_model"] == "claude-haiku-4-5"
    assert harness.fake.count("gpt-4o-mini") == circuit.failure_threshold
    assert breaker.state("gpt-4o-mini") == "open"

    result = await harness.run(STEP, INPUT)  # open: skipped without a call
    assert result.output_data["ai_model"] == "claude-haiku-4-5"
    assert harness.fake.count("gpt-4o-mini") == circuit.failure_threshold

    now[0] += circuit.cooldown_s + 1  # half-open: the next step is the probe
    result = await harness.run(STEP, INPUT)
    assert result.output_data["ai_model"] == "gpt-4o-mini"
    assert harness.fake.count("gpt-4o-mini") == circuit.failure_threshold + 1
    assert breaker.state("gpt-4o-mini") == "closed"
    assert harness.sleeps == []


async def test_auth_failure_falls_back_without_retry(harness: Harness) -> None:
    harness.script("gpt-4o-mini", 401)
    result = await harness.run(STEP, INPUT, execution_id="exec-3")
    assert result.success
    out = result.output_data
    assert out["ai_model"] == "claude-haiku-4-5"
    assert harness.fake.count("gpt-4o-mini") == 1
    assert harness.sleeps == []
    first, second = out["ai_attempts"]
    assert first["error_type"] == "authentication"
    assert second["is_fallback"] is True
    assert SECRET not in repr(out)
    assert len(harness.ledger.execution_usage("exec-3")) == 2


async def test_retry_after_is_honoured(harness: Harness) -> None:
    harness.script("gpt-4o-mini", "429 retry-after=2", "ok", cycle=False)
    result = await harness.run({**STEP, "fallback_models": [], "policy_fallbacks": False}, INPUT)
    assert result.success
    assert harness.sleeps and harness.sleeps[0] == pytest.approx(2.0, abs=0.5)
    assert result.output_data["ai_attempts"][0]["error_type"] == "rate_limited"


async def test_timeout_then_fallback(harness: Harness, sqlite_url: str) -> None:
    policy = _policy(BASE_URL, max_attempts_per_model=2)
    h = Harness(harness.fake, policy, harness.ledger)
    h.script("gpt-4o-mini", "timeout")
    result = await h.run({**STEP, "timeout_s": 0.3}, INPUT)
    assert result.success
    errors = [a["error_type"] for a in result.output_data["ai_attempts"]]
    assert errors == ["timeout", None]
    assert result.output_data["ai_model"] == "claude-haiku-4-5"


async def test_malformed_answer_is_an_error_not_a_crash(harness: Harness) -> None:
    harness.script("gpt-4o-mini", "malformed")
    result = await harness.run(STEP, INPUT)
    assert result.success
    assert result.output_data["ai_attempts"][0]["error_type"] == "malformed_response"
    assert result.output_data["ai_model"] == "claude-haiku-4-5"


async def test_every_candidate_failing_gives_a_clear_aggregated_error(harness: Harness) -> None:
    for model in harness.policy.models:
        harness.script(model, 404)
    result = await harness.run(STEP, INPUT, execution_id="exec-fail")
    assert not result.success
    message = result.error_message
    assert message.startswith("AI processing failed: all candidate models failed")
    assert "gpt-4o-mini: model_not_found" in message
    assert "claude-haiku-4-5: model_not_found" in message
    assert SECRET not in message
    assert result.output_data["ai_error_type"] == "model_not_found"
    rows = harness.ledger.execution_usage("exec-fail")
    assert len(rows) == len(result.output_data["ai_attempts"]) >= 2
    assert all(r["status"] == "error" for r in rows)


async def test_open_circuit_is_skipped_without_a_call(harness: Harness) -> None:
    for _ in range(harness.policy.circuit.failure_threshold):
        harness.breaker.record_failure("gpt-4o-mini")
    result = await harness.run(STEP, INPUT)
    assert result.success
    assert harness.fake.count("gpt-4o-mini") == 0
    assert result.output_data["ai_model"] == "claude-haiku-4-5"
    reasons = {s["model"]: s["reason"] for s in result.output_data["ai_skipped"]}
    assert "circuit open" in reasons["gpt-4o-mini"]


async def test_failures_open_the_circuit_for_later_steps(harness: Harness) -> None:
    harness.script("gpt-4o-mini", 503)
    for _ in range(harness.policy.circuit.failure_threshold):
        await harness.run(STEP, INPUT)  # one call each: the fallback fits
    assert harness.fake.count("gpt-4o-mini") == harness.policy.circuit.failure_threshold
    harness.fake.reset()
    harness.script("gpt-4o-mini", 503)
    second = await harness.run(STEP, INPUT)
    assert second.success
    assert harness.fake.count("gpt-4o-mini") == 0


async def test_legacy_node_output_has_todays_shape(harness: Harness) -> None:
    node = {"prompt": "Summarise {inquiry}", "model": "gpt-3.5-turbo"}
    data = {"inquiry": "Is the Civic available?"}
    result = await harness.run(node, data)
    assert result.success
    out = result.output_data
    for key in ("ai_response", "ai_model", "ai_usage", "processed_data"):
        assert key in out
    assert out["ai_model"] == "gpt-3.5-turbo"
    assert out["processed_data"] == data
    assert set(out["ai_usage"]) >= {"prompt_tokens", "completion_tokens", "total_tokens"}
    request = harness.fake.requests[-1]
    assert request.model.name == "gpt-3.5-turbo"


async def test_execution_id_sources(harness: Harness) -> None:
    with execution_context("ctx-1"):
        from_context = await harness.run(STEP, INPUT)
        from_argument = await harness.run(STEP, INPUT, execution_id="arg-1")
    from_input = await harness.run(STEP, {**INPUT, "execution_id": "in-1"})
    generated = await harness.run(STEP, INPUT)
    assert from_context.output_data["ai_execution_id"] == "ctx-1"
    assert from_argument.output_data["ai_execution_id"] == "arg-1"
    assert from_input.output_data["ai_execution_id"] == "in-1"
    assert generated.output_data["ai_execution_id_source"] == "generated"
    assert len(harness.ledger.execution_usage("ctx-1")) == 1


async def test_cost_limit_too_small_fails_before_any_call(harness: Harness) -> None:
    result = await harness.run({**STEP, "cost_limit": 0.0000001}, INPUT)
    assert not result.success
    assert "cost_limit" in result.error_message
    assert "no provider was called" in result.error_message
    assert harness.fake.count() == 0
    assert result.output_data["ai_error_type"] == "limit_exceeded"


async def test_every_candidate_skipped_is_all_failed(harness: Harness) -> None:
    for model in ("gpt-4o-mini", "claude-haiku-4-5", "gpt-4.1-mini"):
        for _ in range(harness.policy.circuit.failure_threshold):
            harness.breaker.record_failure(model)
    result = await harness.run(STEP, INPUT)
    assert not result.success
    assert harness.fake.count() == 0
    assert result.error_message.startswith(
        "AI processing failed: all candidate models failed after 0 attempt(s) ("
    )
    assert result.output_data["ai_error_type"] == "all_failed"
    # Every key a failed step had before is still there.
    assert {"ai_cost", "ai_attempts", "ai_skipped", "ai_execution_id"} <= set(result.output_data)


async def test_expensive_candidate_skipped_for_a_cheaper_one(harness: Harness) -> None:
    step = {**STEP, "model": "gpt-4", "fallback_models": ["gpt-4o-mini"], "max_tokens": 1000}
    result = await harness.run({**step, "cost_limit": 0.01}, INPUT)
    assert result.success, result.error_message
    assert result.output_data["ai_model"] == "gpt-4o-mini"
    assert harness.fake.count("gpt-4") == 0
    reasons = {s["model"]: s["reason"] for s in result.output_data["ai_skipped"]}
    assert "cost_limit" in reasons["gpt-4"]


async def test_json_output_is_validated_and_bad_answers_fall_back(harness: Harness) -> None:
    harness.script("gpt-4o-mini", "ok", content="not json at all")
    harness.fake.script("claude-haiku-4-5", answer('{"score": 7}'))
    step = {
        **STEP,
        "response_format": "json",
        "output_schema": {"type": "object", "required": ["score"]},
    }
    result = await harness.run(step, INPUT)
    assert result.success
    assert result.output_data["ai_json"] == {"score": 7}
    first = result.output_data["ai_attempts"][0]
    assert first["error_type"] == "invalid_output"
    # Like every provider error, an invalid answer names its model first.
    assert first["error"] == "gpt-4o-mini: answer is not valid JSON (Expecting value)"


async def test_answer_breaking_the_schema_names_the_model(harness: Harness) -> None:
    for model in ("gpt-4o-mini", "claude-haiku-4-5", "gpt-4.1-mini"):
        harness.script(model, "ok", content='{"other": 1}')
    step = {
        **STEP,
        "response_format": "json",
        "output_schema": {"type": "object", "required": ["score"]},
    }
    result = await harness.run(step, INPUT)
    assert not result.success
    assert result.output_data["ai_error_type"] == "invalid_output"
    errors = [a["error"] for a in result.output_data["ai_attempts"]]
    assert errors[0] == (
        "gpt-4o-mini: answer breaks output_schema at (root): 'score' is a required property"
    )
    assert all(
        e.startswith(f"{a['model']}: ")
        for e, a in zip(errors, result.output_data["ai_attempts"], strict=True)
    )


REFUSAL = {"status": 400, "message": "content_policy_violation: refused by safety system"}


async def test_content_refusal_stops_the_step(harness: Harness) -> None:
    harness.script("gpt-4o-mini", REFUSAL)
    result = await harness.run(STEP, INPUT)
    assert not result.success
    assert harness.fake.count("claude-haiku-4-5") == 0
    assert harness.fake.count("gpt-4.1-mini") == 0
    message = result.error_message
    # Says what happened: a refusal stopped the step, the later candidates were never tried.
    assert message.startswith(
        "AI processing failed: stopped after 1 attempt(s): gpt-4o-mini refused the content "
        "and retry.fallback_on_content_refusal is off, so claude-haiku-4-5, gpt-4.1-mini "
        "were not tried (gpt-4o-mini: content_refused after 1 attempt(s): gpt-4o-mini: "
        "HTTP 400: content_policy_violation: refused by safety system)"
    ), message
    assert "all candidate models failed" not in message
    assert result.output_data["ai_error_type"] == "content_refused"


async def test_content_refusal_by_the_last_candidate_is_all_failed(harness: Harness) -> None:
    # gpt-4o-mini, claude-haiku-4-5 (step), then gpt-4.1-mini (policy fallback_chain): the
    # refusal comes from the last one, so nothing was left untried.
    harness.script("gpt-4o-mini", 401)
    harness.script("claude-haiku-4-5", 401)
    harness.script("gpt-4.1-mini", REFUSAL)
    result = await harness.run(STEP, INPUT)
    assert not result.success
    assert result.error_message.startswith(
        "AI processing failed: all candidate models failed after 3 attempt(s) ("
    )
    assert "gpt-4.1-mini: content_refused after 1 attempt(s)" in result.error_message
    assert result.output_data["ai_error_type"] == "content_refused"


async def test_content_refusal_falls_back_when_allowed(harness: Harness) -> None:
    h = Harness(
        harness.fake,
        _policy(BASE_URL, fallback_on_content_refusal=True),
        harness.ledger,
    )
    h.script("gpt-4o-mini", REFUSAL)
    result = await h.run(STEP, INPUT)
    assert result.success, result.error_message
    assert result.output_data["ai_model"] == "claude-haiku-4-5"
    assert "ai_error_type" not in result.output_data


async def test_context_overflow_moves_only_to_larger_windows(harness: Harness) -> None:
    # gpt-4 and llama3.1 both have an 8,192-token window: only larger ones are worth a try.
    step = {**STEP, "model": "gpt-4", "fallback_models": ["llama3.1", "gpt-4o-mini"]}
    harness.script("gpt-4", "context_overflow")
    result = await harness.run(step, INPUT)
    assert result.success
    assert result.output_data["ai_model"] == "gpt-4o-mini"
    assert harness.fake.count("llama3.1") == 0
    assert result.output_data["ai_attempts"][0]["error_type"] == "context_window"


async def test_invalid_config_fails_without_a_call(harness: Harness) -> None:
    result = await harness.run({**STEP, "fallback_models": ["gpt5"]}, INPUT)
    assert not result.success
    assert "fallback_models[0]: 'gpt5' is not a known model" in result.error_message
    assert harness.fake.count() == 0
    assert result.output_data["ai_error_type"] == "invalid_config"


async def test_template_error_fails_without_a_call(harness: Harness) -> None:
    result = await harness.run(STEP, {"customer": "Dana"})
    assert not result.success
    assert "car" in result.error_message
    assert harness.fake.count() == 0
    assert result.output_data["ai_error_type"] == "template_error"


async def test_concurrent_steps_share_one_executor(harness: Harness) -> None:
    results = await asyncio.gather(
        *(harness.run(STEP, INPUT, execution_id=f"c-{i}") for i in range(20))
    )
    assert all(r.success for r in results)
    assert harness.fake.count() == 20
    assert sum(len(harness.ledger.execution_usage(f"c-{i}")) for i in range(20)) == 20


async def test_non_mapping_input_is_a_failure_not_an_exception(harness: Harness) -> None:
    node = WorkflowNode(id="n", type="ai", data=STEP)
    result = await harness.executor.execute_step(node, ["not", "a", "dict"])  # type: ignore[arg-type]
    assert not result.success
    assert result.error_message == "AI step failed: input_data must be a mapping, got list"
    assert harness.fake.count() == 0
    assert result.output_data == {"ai_error_type": "invalid_input"}


async def test_unusable_ledger_is_a_store_error(harness: Harness, tmp_path: Path) -> None:
    # Not a database at all where the SQLite file should be: no reservation can be written.
    (tmp_path / "garbage.db").write_bytes(b"this is not a SQLite database file\n" * 200)
    ledger = Ledger(f"sqlite:///{tmp_path / 'garbage.db'}")
    h = Harness(harness.fake, harness.policy, ledger)
    result = await h.run(STEP, INPUT)
    ledger.close()
    assert not result.success
    assert result.error_message.startswith("AI step failed: could not reserve budget")
    assert result.output_data["ai_error_type"] == "store_error"
    assert harness.fake.count() == 0


def _with_unpriced_models(policy: Policy, base_url: str, *names: str) -> Policy:
    """The policy plus models no one has a price for, and no cost limit or daily budget."""
    models = dict(policy.models)
    for name in names:
        models[name] = ModelSpec(
            name=name,
            provider="openai",
            litellm_model=f"openai/{name}",
            context_window=8192,
            max_output_tokens=512,
            quality=5,
            api_base=f"{base_url}/v1",
            api_key_env="OPENAI_API_KEY",
        )
    controls = policy.cost_controls.model_copy(
        update={"daily_budget": None, "per_request_limit": None}
    )
    return policy.model_copy(update={"models": models, "cost_controls": controls})


async def test_unpriced_model_runs_at_zero_cost_and_warns_once_per_model(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    # Names unique to this run: the warning is once per model per process.
    first, second = (f"house-model-{uuid.uuid4().hex[:8]}" for _ in range(2))
    policy = _with_unpriced_models(harness.policy, BASE_URL, first, second)
    assert PRICES.price(policy.models[first]) is None
    h = Harness(harness.fake, policy, harness.ledger)
    step = {**STEP, "fallback_models": [], "max_tokens": 50}
    with caplog.at_level(logging.WARNING, logger="auterity_ai_step.engine"):
        results = [
            await h.run({**step, "model": first}, INPUT, execution_id="u-1"),
            await h.run({**step, "model": first}, INPUT, execution_id="u-2"),
            await h.run({**step, "model": second}, INPUT, execution_id="u-3"),
        ]
    assert all(r.success for r in results), [r.error_message for r in results]
    assert [r.output_data["ai_cost"] for r in results] == ["0", "0", "0"]
    assert harness.ledger.execution_usage("u-1")[0]["cost"] == 0
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.name == "auterity_ai_step.engine" and r.levelno == logging.WARNING
    ]
    assert len(warnings) == 2, warnings
    assert first in warnings[0] and second in warnings[1]
    assert "no known price" in warnings[0] and "recorded at $0" in warnings[0]


async def test_a_step_can_keep_to_its_own_models(harness: Harness) -> None:
    """``policy_fallbacks: false``: after the step's own models fail, the policy's task
    preferences and fallback chain (gpt-4.1-mini here) are not called."""
    harness.script("gpt-4o-mini", 500)
    harness.script("claude-haiku-4-5", 500)
    step = {**STEP, "task_type": "customer_inquiry", "policy_fallbacks": False}
    result = await harness.run(step, INPUT)
    assert not result.success
    tried = {a["model"] for a in result.output_data["ai_attempts"]}
    assert tried == {"gpt-4o-mini", "claude-haiku-4-5"}
    assert harness.fake.count("gpt-4.1-mini") == 0
    # The default is true: the same step without the switch reaches the policy's chain.
    result = await harness.run({**step, "policy_fallbacks": True}, INPUT)
    assert result.success
    assert result.output_data["ai_model"] == "gpt-4.1-mini"
