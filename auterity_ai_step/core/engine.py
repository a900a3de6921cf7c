"""The attempt loop shared by the executor and the back-compatible service.

Given rendered messages and the routing knobs of a step, try candidates in order: reserve
each attempt's worst case, call the gateway (retrying transient errors through tenacity),
settle the actual cost with the usage row, feed the circuit breaker, and fall back on
failure. Nothing here parses configs or renders prompts; that happened before.

No database I/O runs on the event loop: every ledger call and every policy read (which may
read the ledger's model configurations) goes through a worker thread, so a database that
is slow or locked by another process shows up as the waiting step's latency only.

Usage a provider reports is judged (``money.usage``) before it is charged; a model that
reports more than it could have used is quarantined for :data:`QUARANTINE_S`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, TypeVar

from .. import telemetry
from ..contract.policy import ModelSpec, Policy, RetrySettings
from ..contract.step import StepConfig
from ..errors import (
    ContentRefused,
    ContextWindowExceeded,
    InvalidOutput,
    LimitExceeded,
    ProviderError,
    QuotaExceeded,
    StoreError,
    redact,
)
from ..money.limits import BudgetGuard, Reservation, StepAllowance
from ..money.prices import Price
from ..money.records import UsageRecord
from ..money.usage import judge_usage
from ..routing import gateway
from ..routing.candidates import Candidate, Skipped, windows_hold
from ..routing.gateway import Gateway
from ..routing.health import CircuitBreaker
from ..routing.retry import retrying
from ..store.ledger import Ledger
from .plan import AttemptSize, count_prompt_tokens, plan_step, size_attempt
from .policy_source import PolicyStore
from .prices import PRICES
from .run_types import (
    RunOutcome,
    RunRequest,
    billable_prompt_tokens,
    check_output,
    prompt_token_bound,
)
from .step_routing import config_hash, routing_of

__all__ = ["QUARANTINE_S", "Engine"]

#: How long a model that over-reports its usage stays out of routing: a day, the length of
#: a budget day, so one lying provider cannot drain a budget; an operator lifts it sooner by
#: restarting the worker after fixing the provider (the breaker is per process).
QUARANTINE_S = 24 * 3600.0
_ZERO = Decimal(0)
_DEFAULT_TIMEOUT_S = 60.0
_EXPIRY_EVERY_S = 60.0
# A billing refusal needs a person to act: keep the model out of routing this long.
QUOTA_QUARANTINE_S = 3600.0
log = logging.getLogger("auterity_ai_step.engine")
_LITELLM: Gateway = gateway
T = TypeVar("T")
# Models already warned about running without a price (once per model per process).
_unpriced_warned: set[str] = set()
_unpriced_lock = threading.Lock()


class _StepFailed(Exception):
    """Internal: stop the whole run now (content refusal without fallback)."""

    def __init__(self, model: str) -> None:
        self.model = model
        super().__init__(model)


@dataclass(slots=True)
class _Run:
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


class Engine:
    """Runs requests against the current policy; safe to share across concurrent steps."""

    def __init__(
        self,
        policy_store: PolicyStore,
        ledger: Ledger,
        *,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        gateway: Gateway | None = None,
    ) -> None:
        self.policy_store = policy_store
        self.gateway = gateway or _LITELLM
        self.ledger = ledger
        self.guard = BudgetGuard(ledger, policy_store)
        policy = policy_store.current()
        self.breaker = breaker or CircuitBreaker(
            policy.circuit.failure_threshold, policy.circuit.cooldown_s
        )
        self._sleep = sleep
        self._clock = clock
        self._next_expiry = clock()
        telemetry.watch_breaker(self.breaker)
        self.guard.on_alert(telemetry.budget_alert)

    async def current_policy(self) -> Policy:
        """The policy in force, read in a worker thread: re-reading it may read the ledger's
        model configurations, and a database wait must not stall the event loop."""
        return await asyncio.to_thread(self.policy_store.current)

    async def run(self, request: RunRequest) -> RunOutcome:
        """Try the candidates in order until one answers; never raises for provider trouble.

        Runs on ``request.policy`` when the caller already read it (one policy read per step,
        and the one the config was validated against), else on the current policy. Traced
        as one span with a child span per attempt (:mod:`.telemetry`)."""
        with telemetry.step_span(request.execution_id, request.node_id) as traced:
            outcome = await self._run(request)
            traced.end(outcome)
            return outcome

    async def _run(self, request: RunRequest) -> RunOutcome:
        policy = request.policy or await self.current_policy()
        await gateway.preload()
        await self._expire_leaked(policy)
        config = request.config
        settings = request.retry or policy.retry
        prompt_tokens, exact = await self._prompt_tokens(policy, config, request.messages)
        plan = plan_step(
            policy,
            config,
            prompt_tokens,
            prices=PRICES,
            breaker=self.breaker,
            use_policy_fallbacks=request.use_policy_fallbacks,
        )
        run = _Run(
            request=request,
            policy=policy,
            allowance=StepAllowance(config.cost_limit),
            prompt_tokens=plan.prompt_tokens,
            billed_prompt_tokens=plan.billed_prompt_tokens,
            deadline=self._clock() + settings.step_time_budget_s,
            outcome=RunOutcome(success=False, skipped=list(plan.skipped)),
            routing=routing_of(config, plan.prompt_tokens, request.use_policy_fallbacks),
            config_hash=config_hash(config),
            exact_tokens=exact,
        )
        for reason in plan.skipped:
            run.failures.append((reason.model, reason.reason))
        chain = [planned.candidate for planned in plan.candidates]
        telemetry.note_candidates([c.model.name for c in chain], [s.model for s in plan.skipped])
        for index, candidate in enumerate(chain):
            try:
                if await self._try_candidate(run, candidate, settings, chain[index + 1 :]):
                    return run.outcome
            except _StepFailed as stop:
                untried = [later.model.name for later in chain[index + 1 :]]
                if untried:
                    run.stopped_by_refusal = (stop.model, untried)
                break
        return self._failed(run)

    async def _prompt_tokens(
        self, policy: Policy, config: StepConfig, messages: Sequence[Mapping[str, str]]
    ) -> tuple[int, bool]:
        """(prompt tokens, whether counted exactly). The byte bound, with no tokenizer, when
        the exact count could change no decision: every model's window holds it and the
        step names its ``max_tokens`` (without one, the output cap depends on the prompt).
        Else the tokenizer's count, in a worker thread: its first use loads it (~0.3 s,
        ~100 MiB), which must not stall the loop."""
        bound = prompt_token_bound(messages)
        if config.max_tokens is not None and windows_hold(config, policy, bound):
            return bound, False
        counted = await asyncio.to_thread(count_prompt_tokens, policy, config, messages)
        return counted, True

    async def _count_exactly(self, run: _Run) -> bool:
        """After a limit refused a worst case built on the byte bound: count with the
        tokenizer (once a run); True when that lowered the count, so the refusal may
        not stand."""
        if run.exact_tokens:
            return False
        request = run.request
        counted = await asyncio.to_thread(
            count_prompt_tokens, run.policy, request.config, request.messages
        )
        run.exact_tokens = True
        if counted >= run.prompt_tokens:
            return False
        run.prompt_tokens = counted
        run.billed_prompt_tokens = billable_prompt_tokens(counted)
        return True

    async def _db(self, work: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run a ledger call in a worker thread: a lock wait must never stall the loop."""
        return await asyncio.to_thread(work, *args, **kwargs)

    async def _expire_leaked(self, policy: Policy) -> None:
        """Now and then, charge reservations a crashed worker left open to their day.

        A reservation older than twice the step time budget cannot belong to a live step.
        Its worst case is charged, not returned (the call may have been billed); a late
        settle books the difference.
        """
        now = self._clock()
        if now < self._next_expiry:
            return
        self._next_expiry = now + _EXPIRY_EVERY_S
        try:
            await asyncio.to_thread(
                self.ledger.expire_reservations, 2 * policy.retry.step_time_budget_s + 60
            )
        except StoreError as exc:
            log.warning("could not expire leaked reservations: %s", exc)

    async def _try_candidate(
        self, run: _Run, candidate: Candidate, settings: RetrySettings, later: Sequence[Candidate]
    ) -> bool:
        model = candidate.model
        why_not = self._why_not(run, model)
        if why_not:
            run.outcome.skipped.append(Skipped(model.name, why_not))
            run.failures.append((model.name, why_not))
            return False
        try:
            # Sized now, not from the plan: earlier attempts may have spent the cost_limit.
            size = self._size(run, model)
        except LimitExceeded as exc:
            self._refuse(run, model, exc)
            return False
        try:
            async for attempt in retrying(
                settings,
                sleep=self._sleep,
                deadline=run.deadline,
                clock=self._clock,
                fallback_ready=lambda: any(self._fits(run, c.model) for c in later),
            ):
                with attempt:
                    await self._attempt(
                        run, candidate, size.price, size.worst_case, size.max_tokens
                    )
        except LimitExceeded as exc:
            if await self._count_exactly(run):  # the bound was too coarse: try again
                return await self._try_candidate(run, candidate, settings, later)
            self._refuse(run, model, exc)
            return False
        except ProviderError as exc:
            self._note_failure(run, model, exc)
            if isinstance(exc, ContentRefused) and not settings.fallback_on_content_refusal:
                raise _StepFailed(model.name) from exc
            return False
        return True

    def _why_not(self, run: _Run, model: ModelSpec) -> str | None:
        if run.overflowed_window and model.context_window <= run.overflowed_window:
            return "skipped: context window not larger than the one that overflowed"
        if not self.breaker.allow(model.name):
            reason = self.breaker.reason(model.name)
            if reason:
                return f"skipped: quarantined: {reason}"
            return "skipped: circuit open (recent consecutive failures)"
        if self._clock() >= run.deadline:
            return "skipped: step time budget used up"
        return None

    def _size(self, run: _Run, model: ModelSpec) -> AttemptSize:
        """The attempt's price, ``max_tokens`` and worst case, sized now rather than from the
        plan: earlier attempts may have spent part of the step's cost_limit."""
        return size_attempt(
            run.request.config,
            model,
            run.billed_prompt_tokens,
            prices=PRICES,
            controls=run.policy.cost_controls,
            allowance=run.allowance,
        )

    def _fits(self, run: _Run, model: ModelSpec) -> bool:
        """Whether ``model`` could be tried next: not out of routing, its window larger
        than one that overflowed, its worst case inside the step's and per-request limits
        (the daily budget is checked by its reservation, in the database)."""
        if run.overflowed_window and model.context_window <= run.overflowed_window:
            return False
        if self.breaker.state(model.name) == "open" or self._clock() >= run.deadline:
            return False
        try:
            size = self._size(run, model)
        except LimitExceeded:
            return False
        controls = run.policy.cost_controls
        headroom = self.guard.headroom(run.allowance, controls)
        if size.worst_case is None:
            return headroom is None and controls.daily_budget is None
        return headroom is None or size.worst_case <= headroom

    async def _attempt(
        self,
        run: _Run,
        candidate: Candidate,
        price: Price | None,
        worst: Decimal | None,
        max_tokens: int,
    ) -> None:
        """Reserve, then call inside the attempt's span (a refused reservation is no attempt)."""
        model, attempts = candidate.model, run.outcome.attempts
        reservation = await self._db(
            self.guard.reserve_attempt,
            worst,
            step_allowance=run.allowance,
            execution_id=run.request.execution_id,
            model=model.name,
        )
        before = len(attempts)
        with telemetry.attempt_span(
            model.name,
            model.provider,
            before + 1,
            is_fallback=candidate.is_fallback,
            max_tokens=max_tokens,
            temperature=run.request.config.temperature,
            messages=run.request.messages,
        ) as traced:
            try:
                await self._call(run, candidate, price, worst, max_tokens, reservation)
            finally:
                if len(attempts) > before:  # else the span ends as an attempt never sent
                    traced.end(attempts[before])

    async def _call(
        self,
        run: _Run,
        candidate: Candidate,
        price: Price | None,
        worst: Decimal | None,
        max_tokens: int,
        reservation: Reservation,
    ) -> None:
        model = candidate.model
        request = run.request
        number = len(run.outcome.attempts) + 1
        if price is None:
            _warn_unpriced(model.name)
        timeout = min(
            request.config.timeout_s or _DEFAULT_TIMEOUT_S,
            max(run.deadline - self._clock(), 0.05),
        )
        call = gateway.CompletionRequest(
            model=model,
            messages=request.messages,
            temperature=request.config.temperature,
            max_tokens=max_tokens,
            timeout_s=timeout,
            json_mode=request.config.response_format == "json",
        )
        started = time.perf_counter()
        try:
            result = await self.gateway.complete(call)
        except ProviderError as exc:
            self._count(model, exc)
            attempt = self._record(
                run,
                candidate,
                number,
                status="error",
                error_type=exc.kind,
                error=str(exc),
                latency_ms=round((time.perf_counter() - started) * 1000),
            )
            await self._book(run, reservation, attempt, settle=False)
            if isinstance(exc, ContextWindowExceeded):
                run.overflowed_window = max(run.overflowed_window, model.context_window)
            raise
        telemetry.note_response(result.response_model, result.finish_reason, result.content)
        usage = judge_usage(
            price,
            result.prompt_tokens,
            result.completion_tokens,
            max_tokens=max_tokens,
            context_window=model.context_window,
            worst_case=worst,
            estimated=result.usage_estimated,
        )
        attempt = self._record(
            run,
            candidate,
            number,
            status="success",
            latency_ms=round(result.latency_ms),
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cost=usage.cost,
            usage_anomaly=usage.anomaly,
        )
        if usage.anomaly is not None:
            log.warning("usage anomaly from %s: %s", model.name, usage.anomaly)
        if usage.over_reported:
            self.breaker.quarantine(
                model.name, f"reported impossible usage ({usage.anomaly})", QUARANTINE_S
            )
        try:
            parsed = check_output(request.config, result.content, model.name)
        except InvalidOutput as exc:
            attempt = self._amend(run, attempt, status="error", error_type=exc.kind, error=str(exc))
            await self._book(run, reservation, attempt, settle=True)
            raise
        if not usage.over_reported:
            self.breaker.record_success(model.name)
        await self._book(run, reservation, attempt, settle=True)
        outcome = run.outcome
        outcome.success = True
        outcome.content = result.content
        outcome.parsed = parsed
        outcome.model = model
        outcome.finish_reason = result.finish_reason
        outcome.prompt_tokens = usage.prompt_tokens
        outcome.completion_tokens = usage.completion_tokens

    def _count(self, model: ModelSpec, exc: ProviderError) -> None:
        if isinstance(exc, QuotaExceeded):  # its listeners are the alert
            self.breaker.quarantine(model.name, f"{exc.kind}: {exc}", QUOTA_QUARANTINE_S)
        elif self.breaker.counts_as_failure(exc):
            self.breaker.record_failure(model.name)
        else:
            self.breaker.record_success(model.name)

    def _record(
        self,
        run: _Run,
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

    def _amend(self, run: _Run, record: UsageRecord, **changes: Any) -> UsageRecord:
        """Replace the outcome's record of an attempt with a changed copy (records are frozen)."""
        amended = replace(record, **changes)
        attempts = run.outcome.attempts
        attempts[attempts.index(record)] = amended
        return amended

    async def _book(
        self, run: _Run, reservation: Reservation, record: UsageRecord, *, settle: bool
    ) -> None:
        """Write the attempt's usage row and settle (or release) its reservation."""
        pending: list[str] = []
        if settle:
            await self._db(self.guard.settle, reservation, record, on_deferred=pending.append)
        else:
            await self._db(self.guard.release, reservation, record, on_deferred=pending.append)
        if pending:
            self._amend(
                run,
                record,
                ledger_pending=f"usage row kept in the ledger outbox ({pending[-1]})",
            )

    def _refuse(self, run: _Run, model: ModelSpec, exc: LimitExceeded) -> None:
        telemetry.record_refusal(model.name, model.provider, exc.limit)
        run.outcome.skipped.append(Skipped(model.name, f"refused by {exc.limit}: {exc}"))
        run.failures.append((model.name, f"refused by {exc.limit}: {exc}"))
        if run.outcome.error_type is None:
            run.outcome.error_type = "limit_exceeded"

    def _note_failure(self, run: _Run, model: ModelSpec, exc: ProviderError) -> None:
        tries = sum(1 for a in run.outcome.attempts if a.model_name == model.name)
        run.failures.append((model.name, f"{exc.kind} after {tries} attempt(s): {exc}"))
        run.outcome.error_type = exc.kind

    def _failed(self, run: _Run) -> RunOutcome:
        outcome = run.outcome
        detail = "; ".join(f"{name}: {why}" for name, why in run.failures) or "no candidate models"
        if outcome.calls_made == 0 and outcome.error_type == "limit_exceeded":
            outcome.error = f"no candidate fits the cost limits, no provider was called ({detail})"
        elif run.stopped_by_refusal is not None:
            refuser, untried = run.stopped_by_refusal
            outcome.error = (
                f"stopped after {outcome.calls_made} attempt(s): {refuser} refused the content "
                "and retry.fallback_on_content_refusal is off, so "
                f"{', '.join(untried)} {'was' if len(untried) == 1 else 'were'} not tried "
                f"({detail})"
            )
        else:
            outcome.error = (
                f"all candidate models failed after {outcome.calls_made} attempt(s) ({detail})"
            )
        outcome.error = redact(outcome.error)
        outcome.error_type = outcome.error_type or "all_failed"
        return outcome


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
