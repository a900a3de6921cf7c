"""Spans and metrics of real steps: real LiteLLM transport -> loopback simulator, real
SQLite ledger, recorded by the OpenTelemetry SDK's in-memory exporter and reader."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from opentelemetry.trace import SpanKind, StatusCode
from otel_support import Otel

from auterity_ai_step import AIStepExecutor, WorkflowNode, load_policy
from auterity_ai_step.contract.policy import Policy
from auterity_ai_step.core.engine import Engine
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.routing.health import CircuitBreaker
from auterity_ai_step.simulator.policy import simulated_policy
from auterity_ai_step.simulator.server import ModelBehaviour, Scenario, Simulator
from auterity_ai_step.store.ledger import Ledger

SECRET = "sk-test-abcdefghijklmnopqrstuvwxyz0123456789"
STEP = {
    "config_version": 2,
    "prompt": "Reply to {{ customer }} about their {{ car }}.",
    "model": "gpt-4o-mini",
    "fallback_models": ["claude-haiku-4-5"],
    "policy_fallbacks": False,
    "max_tokens": 100,
}
INPUT = {"customer": "Dana", "car": "Civic"}
STEP_SPAN = "auterity.ai_step"


class Steps:
    def __init__(self, sim: Simulator, policy: Policy, ledger: Ledger) -> None:
        self.sim = sim
        self.ledger = ledger
        self.breaker = CircuitBreaker(policy.circuit.failure_threshold, policy.circuit.cooldown_s)
        self.engine = Engine(
            PolicyStore.fixed(policy), ledger, breaker=self.breaker, sleep=self._no_sleep
        )
        self.executor = AIStepExecutor(engine=self.engine)

    @staticmethod
    async def _no_sleep(_seconds: float) -> None:
        return None

    def script(self, model: str, *outcomes: str | int, **kw: Any) -> None:
        self.sim.scenario.models[model] = ModelBehaviour(outcomes=outcomes or ("ok",), **kw)
        self.sim.reset()

    async def run(self, execution_id: str, step: dict[str, Any] | None = None) -> Any:
        node = WorkflowNode(id="node-1", type="ai", data=step or STEP)
        return await self.executor.execute_step(node, dict(INPUT), execution_id)

    def ledger_cost(self, *execution_ids: str) -> Decimal:
        return sum(
            (
                Decimal(str(r["cost"]))
                for e in execution_ids
                for r in self.ledger.execution_usage(e)
            ),
            Decimal(0),
        )


def _policy(base_url: str, **cost_controls: Any) -> Policy:
    policy = simulated_policy(load_policy(), base_url)
    retry = policy.retry.model_copy(update={"initial_backoff_s": 0, "max_backoff_s": 0})
    controls = policy.cost_controls.model_copy(update=cost_controls)
    return policy.model_copy(update={"retry": retry, "cost_controls": controls})


@pytest.fixture
async def steps(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Steps]:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    async with Simulator(Scenario()) as sim:
        ledger = Ledger(sqlite_url)
        yield Steps(sim, _policy(sim.base_url), ledger)
        ledger.close()


async def test_success_is_one_step_span_with_one_client_span_under_the_host_span(
    steps: Steps, otel: Otel
) -> None:
    steps.script("gpt-4o-mini", "ok", prompt_tokens=1000, completion_tokens=50)
    host = otel.tracer_provider.get_tracer("auterity.host")
    with host.start_as_current_span("workflow execution") as workflow:
        result = await steps.run("exec-ok")
    assert result.success, result.error_message
    (step,) = otel.finished(STEP_SPAN)
    (attempt,) = otel.finished("chat gpt-4o-mini")
    assert step.parent is not None
    assert step.parent.span_id == workflow.get_span_context().span_id
    assert attempt.parent is not None and attempt.parent.span_id == step.context.span_id
    assert attempt.kind is SpanKind.CLIENT
    a = dict(attempt.attributes or {})
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.provider.name"] == "openai"
    assert a["gen_ai.request.model"] == "gpt-4o-mini"
    assert a["gen_ai.response.model"] == "gpt-4o-mini"
    assert a["gen_ai.usage.input_tokens"] == 1000
    assert a["gen_ai.usage.output_tokens"] == 50
    assert a["gen_ai.request.max_tokens"] == 100
    # 1000 x 0.00015/1k + 50 x 0.0006/1k, as a decimal string
    assert a["auterity.ai_step.cost_usd"] == "0.00018" == result.output_data["ai_cost"]
    assert a["auterity.ai_step.attempt"] == 1
    assert a["auterity.ai_step.is_fallback"] is False
    assert "error.type" not in a
    s = dict(step.attributes or {})
    assert s["auterity.ai_step.execution_id"] == "exec-ok"
    assert s["auterity.ai_step.node_id"] == "node-1"
    assert s["auterity.ai_step.candidates"] == ("gpt-4o-mini", "claude-haiku-4-5")
    assert s["auterity.ai_step.cost_usd"] == "0.00018"
    assert s["auterity.ai_step.fallback_used"] is False
    # Metrics: the conventions' histograms, our cost counter equal to the ledger's row.
    tokens = {a["gen_ai.token.type"]: p.sum for a, p in otel.points("gen_ai.client.token.usage")}
    assert tokens == {"input": 1000, "output": 50}
    (duration,) = otel.points("gen_ai.client.operation.duration")
    assert duration[1].count == 1
    assert duration[0]["gen_ai.request.model"] == "gpt-4o-mini"
    assert Decimal(str(otel.total("auterity.ai_step.cost_usd"))) == steps.ledger_cost("exec-ok")
    assert otel.total("auterity.ai_step.steps", auterity__ai_step__step__outcome="success") == 1


async def test_fallback_marks_the_attempt_and_counts_the_fallback(steps: Steps, otel: Otel) -> None:
    steps.script("gpt-4o-mini", 500)
    result = await steps.run("exec-fallback")
    assert result.success and result.output_data["ai_model"] == "claude-haiku-4-5"
    failed = otel.finished("chat gpt-4o-mini")
    (answered,) = otel.finished("chat claude-haiku-4-5")
    assert failed and all(s.status.status_code is StatusCode.ERROR for s in failed)
    assert {dict(s.attributes or {})["error.type"] for s in failed} == {"unavailable"}
    fa = dict(answered.attributes or {})
    assert fa["auterity.ai_step.is_fallback"] is True
    assert fa["gen_ai.provider.name"] == "anthropic"
    assert fa["auterity.ai_step.attempt"] == len(failed) + 1
    (step,) = otel.finished(STEP_SPAN)
    assert dict(step.attributes or {})["auterity.ai_step.fallback_used"] is True
    assert otel.total("auterity.ai_step.fallbacks", gen_ai__request__model="claude-haiku-4-5") == 1
    errors = [
        p.count
        for a, p in otel.points("gen_ai.client.operation.duration")
        if a.get("error.type") == "unavailable"
    ]
    assert errors == [len(failed)]
    assert Decimal(str(otel.total("auterity.ai_step.cost_usd"))) == steps.ledger_cost(
        "exec-fallback"
    )


async def test_refusal_by_the_cost_limit_is_counted_with_its_reason_and_calls_nothing(
    steps: Steps, otel: Otel
) -> None:
    step = {**STEP, "cost_limit": 0.0000001, "max_tokens": 1000}
    result = await steps.run("exec-refused", step)
    assert not result.success
    assert result.output_data["ai_error_type"] == "limit_exceeded"
    assert steps.sim.count("gpt-4o-mini") == 0
    assert not [s for s in otel.finished() if s.name.startswith("chat ")]
    (span,) = otel.finished(STEP_SPAN)
    s = dict(span.attributes or {})
    assert s["auterity.ai_step.refusal.reason"] == "cost_limit"
    assert s["error.type"] == "limit_exceeded"
    assert span.status.status_code is StatusCode.ERROR
    assert [e.name for e in span.events] == ["auterity.ai_step.refusal"] * 2
    refused = {
        (a["gen_ai.request.model"], a["auterity.ai_step.refusal.reason"]): p.value
        for a, p in otel.points("auterity.ai_step.refusals")
    }
    assert refused == {("gpt-4o-mini", "cost_limit"): 1, ("claude-haiku-4-5", "cost_limit"): 1}
    assert otel.total("auterity.ai_step.steps", error__type="limit_exceeded") == 1


async def test_outage_fails_every_attempt_and_opens_the_circuit_on_the_gauge(
    steps: Steps, otel: Otel
) -> None:
    steps.script("gpt-4o-mini", 503)
    steps.script("claude-haiku-4-5", 503)
    result = await steps.run("exec-outage")
    assert not result.success
    attempts = [s for s in otel.finished() if s.name.startswith("chat ")]
    assert len(attempts) == len(result.output_data["ai_attempts"]) >= 2
    assert all(dict(s.attributes or {})["error.type"] == "unavailable" for s in attempts)
    (span,) = otel.finished(STEP_SPAN)
    assert span.status.status_code is StatusCode.ERROR
    assert dict(span.attributes or {})["error.type"] == "unavailable"
    # Fallback-first: while a fallback fits, each step calls the primary once, so its
    # circuit opens after a few failing steps.
    for n in range(10):
        if steps.breaker.state("gpt-4o-mini") == "open":
            break
        await steps.run(f"exec-outage-{n}")
    circuits = {
        a["gen_ai.request.model"]: p.value for a, p in otel.points("auterity.ai_step.circuit.state")
    }
    assert steps.breaker.state("gpt-4o-mini") == "open"
    assert circuits["gpt-4o-mini"] == 2
    assert circuits["claude-haiku-4-5"] == 2
    assert otel.total("auterity.ai_step.cost_usd") == 0
    # A later step skips both open circuits: the skip list is on its span, no attempt spans.
    otel.spans.clear()
    again = await steps.run("exec-outage-2")
    assert not again.success and again.output_data["ai_error_type"] == "all_failed"
    (span,) = otel.finished(STEP_SPAN)
    assert dict(span.attributes or {})["auterity.ai_step.skipped"] == (
        "gpt-4o-mini",
        "claude-haiku-4-5",
    )


async def test_no_metric_label_names_an_execution(steps: Steps, otel: Otel) -> None:
    steps.script("gpt-4o-mini", 500, "ok", cycle=False)
    await steps.run("exec-label-1")
    await steps.run("exec-label-2")
    data = otel.reader.get_metrics_data()
    assert data is not None
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    text = json.dumps(dict(point.attributes or {}))
                    assert "exec-label" not in text, metric.name
                    assert "node-1" not in text, metric.name


async def test_prompt_and_answer_text_only_with_the_opt_in_and_redacted(
    steps: Steps, otel: Otel, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps.script("gpt-4o-mini", "ok", answer="Done. Key: " + SECRET)
    step = {**STEP, "prompt": "Customer {{ customer }} pasted " + SECRET}
    await steps.run("exec-quiet", step)
    (quiet,) = otel.finished("chat gpt-4o-mini")
    assert "gen_ai.input.messages" not in (quiet.attributes or {})
    assert "gen_ai.output.messages" not in (quiet.attributes or {})
    assert "Dana" not in json.dumps(dict(quiet.attributes or {}))

    otel.spans.clear()
    monkeypatch.setenv("AUTERITY_AI_CAPTURE_CONTENT", "true")
    await steps.run("exec-captured", step)
    (captured,) = otel.finished("chat gpt-4o-mini")
    attrs = dict(captured.attributes or {})
    sent = json.loads(str(attrs["gen_ai.input.messages"]))
    answer = json.loads(str(attrs["gen_ai.output.messages"]))
    assert sent[-1]["role"] == "user"
    assert "Customer Dana pasted" in sent[-1]["parts"][0]["content"]
    assert answer[0]["parts"][0]["content"].startswith("Done. Key: ")
    everything = json.dumps(attrs) + json.dumps([dict(s.attributes or {}) for s in otel.finished()])
    assert SECRET not in everything
    assert SECRET[8:] not in everything


async def test_budget_alert_is_a_metric_and_a_span_event(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, otel: Otel
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    async with Simulator(Scenario()) as sim:
        ledger = Ledger(sqlite_url)
        steps = Steps(
            sim,
            _policy(sim.base_url, daily_budget=Decimal("0.001"), alert_threshold=Decimal(10)),
            ledger,
        )
        steps.script("gpt-4o-mini", "ok", prompt_tokens=1000, completion_tokens=50)
        result = await steps.run("exec-alert")
        ledger.close()
    assert result.success, result.error_message
    assert otel.total("auterity.ai_step.budget.alerts") == 1
    (attempt,) = otel.finished("chat gpt-4o-mini")
    (event,) = [e for e in attempt.events if e.name == "auterity.ai_step.budget_alert"]
    assert dict(event.attributes or {})["auterity.ai_step.budget.spent_usd"] == "0.00018"
    assert dict(event.attributes or {})["auterity.ai_step.budget.daily_usd"] == "0.001"


async def test_muted_steps_record_nothing(steps: Steps, otel: Otel) -> None:
    from auterity_ai_step import telemetry

    with telemetry.muted():
        result = await steps.run("exec-muted")
    assert result.success
    assert otel.finished() == []
    assert otel.total("auterity.ai_step.cost_usd") == 0


async def test_an_attempt_cut_short_before_any_answer_ends_as_not_sent(otel: Otel) -> None:
    from auterity_ai_step import telemetry

    class Interrupted(Exception):
        kind = "cancelled"

    with pytest.raises(Interrupted), telemetry.step_span("exec-cut", "node-1"):  # noqa: SIM117
        with telemetry.attempt_span(
            "gpt-4o-mini",
            "openai",
            1,
            is_fallback=False,
            max_tokens=10,
            temperature=None,
            messages=[{"role": "user", "content": "hi"}],
        ):
            raise Interrupted
    (attempt,) = otel.finished("chat gpt-4o-mini")
    attrs = dict(attempt.attributes or {})
    assert attrs["auterity.ai_step.outcome"] == "not_sent"
    assert attrs["error.type"] == "cancelled"
    assert attempt.status.status_code is StatusCode.ERROR
    assert otel.points("gen_ai.client.operation.duration") == []
