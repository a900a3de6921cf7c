"""One attempt of a run: reserve its worst case, call the gateway, judge and book the usage.

The engine decides which candidate to try and whether to retry or fall back; this module
does what a single try does, in order: reserve the attempt's worst case (a refused
reservation is no attempt), call the gateway inside the attempt's span, judge the usage the
provider reports (``money.usage``) before it is charged, check the answer, write the one
record of the attempt (step output and ledger row) and settle or release the reservation,
and tell the circuit breaker how the model did.

Every ledger call goes through a worker thread: a database that is slow or locked shows up
as the waiting step's latency only, never as a stalled event loop.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, TypeVar

from .. import telemetry
from ..contract.policy import ModelSpec, Policy
from ..errors import ContextWindowExceeded, InvalidOutput, ProviderError, QuotaExceeded
from ..money.limits import BudgetGuard, Reservation, StepAllowance
from ..money.records import UsageRecord
from ..money.usage import UsageVerdict, judge_usage
from ..routing.candidates import Candidate
from ..routing.circuit import CircuitBreaker
from ..routing.completion import CompletionRequest, CompletionResult, Gateway
from .offload import offload
from .plan import AttemptSize
from .run_types import RunOutcome, RunRequest, check_output

__all__ = ["QUARANTINE_S", "QUOTA_QUARANTINE_S", "Attempts", "RunState"]

#: How long a model that over-reports its usage stays out of routing: a day, the length of
#: a budget day, so one lying provider cannot drain a budget; an operator lifts it sooner by
#: restarting the worker after fixing the provider (the breaker is per process).
QUARANTINE_S = 24 * 3600.0
#: A billing refusal needs a person to act: keep the model out of routing this long.
QUOTA_QUARANTINE_S = 3600.0
_ZERO = Decimal(0)
_DEFAULT_TIMEOUT_S = 60.0
# The engine's logger: the log lines operators look for (docs/operations) keep their name.
log = logging.getLogger("auterity_ai_step.engine")
T = TypeVar("T")
# Models already warned about running without a price (once per model per process).
_unpriced_warned: set[str] = set()
_unpriced_lock = threading.Lock()


@dataclass(slots=True)
class RunState:
    """Mutable state of one run, kept off the engine so runs never share it."""

    request: RunRequest
    policy: Policy
    allowance: StepAllowance
    prompt_tokens: int
    billed_prompt_tokens: int
    deadline: float
    outcome: RunOutcome
    # Kept on every attempt row so that ``whatif`` can route the step again.
    routing: dict[str, Any]
    config_hash: str
    step_run: str = field(default_factory=lambda: str(uuid.uuid4()))
    # False while ``prompt_tokens`` is the UTF-8 byte bound rather than the tokenizer's count.
    exact_tokens: bool = True
    failures: list[tuple[str, str]] = field(default_factory=list)
    overflowed_window: int = 0
    # Set when a content refusal ended the run early: (refusing model, untried candidates).
    stopped_by_refusal: tuple[str, list[str]] | None = None


@dataclass(frozen=True, slots=True)
class Attempts:
    """The attempts of one run, with what they need from the engine.

    Made as the engine reaches each candidate, so a breaker or gateway a caller swaps on the
    engine is the one used."""

    run: RunState
    gateway: Gateway
    breaker: CircuitBreaker
    guard: BudgetGuard
    clock: Callable[[], float]
    #: Whether the ledger's writes may be tried on the loop first (:mod:`.offload`).
    quick: bool = False

    async def make(self, candidate: Candidate, size: AttemptSize) -> None:
        """Reserve, then call inside the attempt's span (a refused reservation is no attempt).

        Returns when the model answered well (the outcome holds the answer); raises the
        provider's error (``InvalidOutput`` included) or the limit that refused it."""
        run, model = self.run, candidate.model
        reservation = await offload(
            self.guard.reserve_attempt,
            size.worst_case,
            step_allowance=run.allowance,
            execution_id=run.request.execution_id,
            model=model.name,
            quick=self.quick,
        )
        attempts = run.outcome.attempts
        before = len(attempts)
        with telemetry.attempt_span(
            model.name,
            model.provider,
            before + 1,
            is_fallback=candidate.is_fallback,
            max_tokens=size.max_tokens,
            temperature=run.request.config.temperature,
            messages=run.request.messages,
        ) as traced:
            try:
                await self._call(candidate, size, reservation)
            finally:
                if len(attempts) > before:  # else the span ends as an attempt never sent
                    traced.end(attempts[before])

    async def _call(
        self, candidate: Candidate, size: AttemptSize, reservation: Reservation
    ) -> None:
        number = len(self.run.outcome.attempts) + 1
        if size.price is None:
            _warn_unpriced(candidate.model.name)
        started = time.perf_counter()
        try:
            result = await self.gateway.complete(self._request(candidate.model, size))
        except ProviderError as exc:
            latency_ms = round((time.perf_counter() - started) * 1000)
            await self._failed(candidate, number, exc, latency_ms, reservation)
            raise
        await self._answered(candidate, number, size, result, reservation)

    def _request(self, model: ModelSpec, size: AttemptSize) -> CompletionRequest:
        """What the gateway is sent: the step's knobs, a timeout inside the step's deadline."""
        config = self.run.request.config
        timeout = min(
            config.timeout_s or _DEFAULT_TIMEOUT_S,
            max(self.run.deadline - self.clock(), 0.05),
        )
        return CompletionRequest(
            model=model,
            messages=self.run.request.messages,
            temperature=config.temperature,
            max_tokens=size.max_tokens,
            timeout_s=timeout,
            json_mode=config.response_format == "json",
        )

    async def _failed(
        self,
        candidate: Candidate,
        number: int,
        exc: ProviderError,
        latency_ms: int,
        reservation: Reservation,
    ) -> None:
        """A provider error: tell the breaker, record the attempt, release its reservation."""
        model = candidate.model
        self._count(model, exc)
        attempt = self._record(
            candidate,
            number,
            status="error",
            error_type=exc.kind,
            error=str(exc),
            latency_ms=latency_ms,
        )
        await self._book(reservation, attempt, settle=False)
        if isinstance(exc, ContextWindowExceeded):
            run = self.run
            run.overflowed_window = max(run.overflowed_window, model.context_window)

    async def _answered(
        self,
        candidate: Candidate,
        number: int,
        size: AttemptSize,
        result: CompletionResult,
        reservation: Reservation,
    ) -> None:
        """An answer: charge the judged usage, check the output, fill in the outcome."""
        model = candidate.model
        telemetry.note_response(result.response_model, result.finish_reason, result.content)
        usage = judge_usage(
            size.price,
            result.prompt_tokens,
            result.completion_tokens,
            max_tokens=size.max_tokens,
            context_window=model.context_window,
            worst_case=size.worst_case,
            estimated=result.usage_estimated,
        )
        attempt = self._record(
            candidate,
            number,
            status="success",
            latency_ms=round(result.latency_ms),
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cost=usage.cost,
            usage_anomaly=usage.anomaly,
        )
        self._flag_anomaly(model, usage)
        try:
            parsed = check_output(self.run.request.config, result.content, model.name)
        except InvalidOutput as exc:
            attempt = self._amend(attempt, status="error", error_type=exc.kind, error=str(exc))
            await self._book(reservation, attempt, settle=True)
            raise
        if not usage.over_reported:
            self.breaker.record_success(model.name)
        await self._book(reservation, attempt, settle=True)
        outcome = self.run.outcome
        outcome.success = True
        outcome.content = result.content
        outcome.parsed = parsed
        outcome.model = model
        outcome.finish_reason = result.finish_reason
        outcome.prompt_tokens = usage.prompt_tokens
        outcome.completion_tokens = usage.completion_tokens

    def _flag_anomaly(self, model: ModelSpec, usage: UsageVerdict) -> None:
        """Log usage that cannot be true; quarantine a model that reports more than it could."""
        if usage.anomaly is not None:
            log.warning("usage anomaly from %s: %s", model.name, usage.anomaly)
        if usage.over_reported:
            self.breaker.quarantine(
                model.name, f"reported impossible usage ({usage.anomaly})", QUARANTINE_S
            )

    def _count(self, model: ModelSpec, exc: ProviderError) -> None:
        if isinstance(exc, QuotaExceeded):  # its listeners are the alert
            self.breaker.quarantine(model.name, f"{exc.kind}: {exc}", QUOTA_QUARANTINE_S)
        elif self.breaker.counts_as_failure(exc):
            self.breaker.record_failure(model.name)
        else:
            self.breaker.record_success(model.name)

    def _record(
        self,
        candidate: Candidate,
        number: int,
        *,
        status: str,
        latency_ms: int,
        error_type: str | None = None,
        error: str | None = None,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        cost: Decimal = _ZERO,
        usage_anomaly: str | None = None,
    ) -> UsageRecord:
        """The attempt's one record (step output and ledger row), added to the outcome."""
        run = self.run
        request = run.request
        record = UsageRecord(
            execution_id=request.execution_id,
            node_id=request.node_id,
            model_name=candidate.model.name,
            provider=candidate.model.provider,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost=cost,
            latency_ms=latency_ms,
            status=status,
            error_type=error_type,
            attempt=number,
            is_fallback=candidate.is_fallback,
            price_version=run.policy.version,
            usage_anomaly=usage_anomaly,
            error=error,
            step_run=run.step_run,
            task_type=request.config.task_type,
            cost_preference=request.config.cost_preference,
            config_hash=run.config_hash,
            routing=run.routing,
        )
        run.outcome.attempts.append(record)
        return record

    def _amend(self, record: UsageRecord, **changes: Any) -> UsageRecord:
        """Replace the outcome's record of an attempt with a changed copy (records are frozen)."""
        amended = replace(record, **changes)
        attempts = self.run.outcome.attempts
        attempts[attempts.index(record)] = amended
        return amended

    async def _book(self, reservation: Reservation, record: UsageRecord, *, settle: bool) -> None:
        """Write the attempt's usage row and settle (or release) its reservation."""
        pending: list[str] = []
        book = self.guard.settle if settle else self.guard.release
        await offload(book, reservation, record, on_deferred=pending.append, quick=self.quick)
        if pending:
            self._amend(
                record, ledger_pending=f"usage row kept in the ledger outbox ({pending[-1]})"
            )


def _warn_unpriced(model: str) -> None:
    """Say once per model per process that a model without a price runs recorded at $0."""
    with _unpriced_lock:
        if model in _unpriced_warned:
            return
        _unpriced_warned.add(model)
    log.warning(
        "model %s has no known price (none in the policy, none in LiteLLM's price map): "
        "it runs because no cost limit or daily budget applies, and its usage is recorded "
        "at $0; give it input/output prices in the policy to count its cost",
        model,
    )
