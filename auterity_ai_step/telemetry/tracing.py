"""The hooks the engine calls: one span per step, one child span per attempt.

Spans nest under whatever span is current (the host's workflow span). Attempt spans carry
the GenAI conventions' attributes and record the conventions' client metrics as they end;
the step span records our step-level counters. Prompt and answer text are recorded only
when ``AUTERITY_AI_CAPTURE_CONTENT`` is on, and then redacted (``errors.redact``).

Every hook first asks :func:`state.current`; a span that is not recording (no SDK) skips
building attributes, so with no SDK configured a hook costs a few microseconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, Protocol

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from ..errors import redact
from ..settings import capture_content
from . import semconv as sc
from .metrics import model_attributes, note_health
from .state import Telemetry, current

__all__ = [
    "AttemptTrace",
    "StepTrace",
    "attempt_span",
    "budget_alert",
    "note_candidates",
    "note_response",
    "record_health_check",
    "record_refusal",
    "step_span",
]


class AttemptLike(Protocol):
    """What an attempt span reads when it ends (``money.records.UsageRecord`` has it)."""

    @property
    def model_name(self) -> str: ...

    @property
    def provider(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def error_type(self) -> str | None: ...

    @property
    def latency_ms(self) -> int: ...

    @property
    def prompt_tokens(self) -> int: ...

    @property
    def completion_tokens(self) -> int: ...

    @property
    def cost(self) -> Decimal: ...

    @property
    def is_fallback(self) -> bool: ...


class OutcomeLike(Protocol):
    """What a step span reads when it ends (``run_types.RunOutcome`` has it)."""

    success: bool
    error_type: str | None

    @property
    def cost(self) -> Decimal: ...

    @property
    def attempts(self) -> Sequence[Any]: ...


class AlertLike(Protocol):
    """What the budget alert hook reads (``money.limits.BudgetAlert`` has it)."""

    @property
    def day(self) -> Any: ...

    @property
    def spent(self) -> Decimal: ...

    @property
    def daily_budget(self) -> Decimal: ...

    @property
    def threshold_percent(self) -> Decimal: ...


def money(value: Decimal | int) -> str:
    """A decimal string without padding zeros or an exponent (``0.00018``)."""
    text = format(Decimal(value).normalize(), "f")
    return "0" if text in ("-0", "") else text


class StepTrace:
    """The step span's handle; :meth:`end` records the outcome."""

    def __init__(self, span: Span | None, bound: Telemetry | None) -> None:
        self.span = span
        self.bound = bound

    def end(self, outcome: OutcomeLike) -> None:
        if self.bound is None:
            return
        tools = self.bound.instruments
        fallbacks = {a.model_name for a in outcome.attempts if a.is_fallback}
        error = None if outcome.success else (outcome.error_type or "all_failed")
        labels = {sc.STEP_OUTCOME: "success" if outcome.success else "error"}
        if error is not None:
            labels[sc.ERROR_TYPE] = error
        tools.steps.add(1, labels)
        for model in sorted(fallbacks):
            tools.fallbacks.add(1, {sc.GEN_AI_REQUEST_MODEL: model})
        span = self.span
        if span is None or not span.is_recording():
            return
        span.set_attribute(sc.OUTCOME, "success" if outcome.success else "error")
        span.set_attribute(sc.COST_USD, money(outcome.cost))
        span.set_attribute(sc.ATTEMPTS, len(outcome.attempts))
        span.set_attribute(sc.FALLBACK_USED, bool(fallbacks))
        final = getattr(getattr(outcome, "model", None), "name", None)
        if final:
            span.set_attribute(sc.MODEL, final)
        if error is not None:
            span.set_attribute(sc.ERROR_TYPE, error)
            span.set_status(Status(StatusCode.ERROR, redact(str(getattr(outcome, "error", "")))))


_NO_STEP = StepTrace(None, None)


@contextmanager
def step_span(execution_id: str | None, node_id: str | None) -> Iterator[StepTrace]:
    """The step's span, current for the block, child of the host's current span."""
    bound = current()
    if bound is None:
        yield _NO_STEP
        return
    with bound.tracer.start_as_current_span(
        sc.STEP_SPAN, kind=SpanKind.INTERNAL, record_exception=True
    ) as span:
        if span.is_recording():
            if execution_id:
                span.set_attribute(sc.EXECUTION_ID, execution_id)
            if node_id:
                span.set_attribute(sc.NODE_ID, node_id)
        yield StepTrace(span, bound)


def note_candidates(chain: Sequence[str], skipped: Sequence[str] = ()) -> None:
    """Put the candidate chain (and models skipped before any call) on the step span."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute(sc.CANDIDATES, list(chain))
        if skipped:
            span.set_attribute(sc.SKIPPED, list(skipped))


class AttemptTrace:
    """The attempt span's handle; :meth:`end` records the attempt and its metrics."""

    def __init__(self, span: Span | None, bound: Telemetry | None, model: str, provider: str):
        self.span = span
        self.bound = bound
        self.model = model
        self.provider = provider
        self.ended = False

    def end(self, attempt: AttemptLike | None, failure: BaseException | None = None) -> None:
        """Record ``attempt`` (None: nothing was sent, e.g. its reservation was refused)."""
        if self.ended or self.bound is None:
            return
        self.ended = True
        span = self.span
        recording = span is not None and span.is_recording()
        if attempt is None:
            kind = "not_sent" if failure is None else getattr(failure, "kind", None)
            kind = kind or type(failure).__name__
            if recording and span is not None:
                span.set_attribute(sc.OUTCOME, "not_sent")
                span.set_attribute(sc.ERROR_TYPE, kind)
                span.set_status(Status(StatusCode.ERROR, "no request was sent"))
            return
        tools = self.bound.instruments
        labels = dict(model_attributes(self.model, self.provider))
        error = attempt.error_type if attempt.status != "success" else None
        if error is not None:
            labels[sc.ERROR_TYPE] = error
        tools.duration.record(attempt.latency_ms / 1000, labels)
        tokens = dict(model_attributes(self.model, self.provider))
        if attempt.prompt_tokens or attempt.completion_tokens:
            tools.token_usage.record(
                attempt.prompt_tokens, {**tokens, sc.GEN_AI_TOKEN_TYPE: "input"}
            )
            tools.token_usage.record(
                attempt.completion_tokens, {**tokens, sc.GEN_AI_TOKEN_TYPE: "output"}
            )
        tools.cost.add(float(attempt.cost), tokens)
        if not recording or span is None:
            return
        span.set_attribute(sc.GEN_AI_USAGE_INPUT_TOKENS, attempt.prompt_tokens)
        span.set_attribute(sc.GEN_AI_USAGE_OUTPUT_TOKENS, attempt.completion_tokens)
        span.set_attribute(sc.COST_USD, money(attempt.cost))
        span.set_attribute(sc.OUTCOME, attempt.status)
        if error is not None:
            span.set_attribute(sc.ERROR_TYPE, error)
            span.set_status(Status(StatusCode.ERROR, error))


_NO_ATTEMPT = AttemptTrace(None, None, "", "")


@contextmanager
def attempt_span(
    model: str,
    provider: str,
    number: int,
    *,
    is_fallback: bool,
    max_tokens: int,
    temperature: float | None,
    messages: Sequence[Mapping[str, str]],
) -> Iterator[AttemptTrace]:
    """One provider attempt's span (``chat <model>``, kind CLIENT), current for the block.

    The block must call :meth:`AttemptTrace.end`; an exception that leaves the block
    first ends the span as an attempt that sent nothing.
    """
    bound = current()
    if bound is None:
        yield _NO_ATTEMPT
        return
    with bound.tracer.start_as_current_span(
        f"{sc.OPERATION_CHAT} {model}",
        kind=SpanKind.CLIENT,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        if span.is_recording():
            span.set_attributes(model_attributes(model, provider))
            span.set_attribute(sc.GEN_AI_REQUEST_MAX_TOKENS, max_tokens)
            if temperature is not None:
                span.set_attribute(sc.GEN_AI_REQUEST_TEMPERATURE, temperature)
            span.set_attribute(sc.ATTEMPT, number)
            span.set_attribute(sc.IS_FALLBACK, is_fallback)
            if capture_content():
                span.set_attribute(sc.GEN_AI_INPUT_MESSAGES, _input_messages(messages))
        traced = AttemptTrace(span, bound, model, provider)
        try:
            yield traced
        except BaseException as exc:
            traced.end(None, exc)
            raise
        traced.end(None)


def note_response(response_model: str | None, finish_reason: str | None, content: str) -> None:
    """Put what the provider answered on the current attempt span."""
    span = trace.get_current_span()
    if not span.is_recording():
        return
    if response_model:
        span.set_attribute(sc.GEN_AI_RESPONSE_MODEL, response_model)
    if finish_reason:
        span.set_attribute(sc.GEN_AI_RESPONSE_FINISH_REASONS, [finish_reason])
    if capture_content():
        message = {
            "role": "assistant",
            "parts": [{"type": "text", "content": redact(content)}],
            "finish_reason": finish_reason or "stop",
        }
        span.set_attribute(sc.GEN_AI_OUTPUT_MESSAGES, json.dumps([message]))


def _input_messages(messages: Sequence[Mapping[str, str]]) -> str:
    return json.dumps(
        [
            {
                "role": m.get("role", "user"),
                "parts": [{"type": "text", "content": redact(str(m.get("content", "")))}],
            }
            for m in messages
        ]
    )


def record_refusal(model: str, provider: str, limit: str) -> None:
    """A cost limit or the daily budget refused ``model`` for this step (no call made)."""
    bound = current()
    if bound is None:
        return
    labels = {**model_attributes(model, provider), sc.REFUSAL_REASON: limit}
    bound.instruments.refusals.add(1, labels)
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute(sc.REFUSAL_REASON, limit)
        span.add_event("auterity.ai_step.refusal", {sc.MODEL: model, sc.REFUSAL_REASON: limit})


def budget_alert(alert: AlertLike) -> None:
    """The daily budget alert as a counter and an event on the current span."""
    bound = current()
    if bound is None:
        return
    bound.instruments.budget_alerts.add(1)
    span = trace.get_current_span()
    if span.is_recording():
        span.add_event(
            sc.BUDGET_ALERT_EVENT,
            {
                "auterity.ai_step.budget.day": str(alert.day),
                "auterity.ai_step.budget.spent_usd": money(alert.spent),
                "auterity.ai_step.budget.daily_usd": money(alert.daily_budget),
                "auterity.ai_step.budget.threshold_percent": money(alert.threshold_percent),
            },
        )


def record_health_check(model: str, provider: str, status: str, latency_ms: float | None) -> None:
    """One active health check's latency and result (``available``, ``slow``,
    ``unavailable``)."""
    bound = current()
    if bound is None:
        return
    labels = {
        sc.GEN_AI_REQUEST_MODEL: model,
        sc.GEN_AI_PROVIDER_NAME: sc.provider_name(provider),
        sc.HEALTH_STATUS: status,
    }
    bound.instruments.health_duration.record((latency_ms or 0.0) / 1000, labels)
    note_health(model, sc.provider_name(provider), status != "unavailable")
