"""The attempt loop shared by the executor and the back-compatible service.

Given rendered messages and the routing knobs of a step, plan the candidates and try them
in order: skip those out of routing or past the deadline, size each attempt against the
limits left, make the attempt (:mod:`.attempt`: reserve the worst case, call the gateway,
book the usage) retrying transient errors through tenacity, and fall back on failure.
Nothing here parses configs or renders prompts; that happened before.

No database wait happens on the event loop: every ledger call and every policy read (which
may read the ledger's model configurations) goes through :func:`.offload.offload`. On a
SQLite file a write that gets its lock at once runs right there, on the loop (tens of
microseconds, cheaper than a thread hop); anything that could wait runs in a worker thread,
so a database that is slow or locked by another process shows up as the waiting step's
latency only.

Usage a provider reports is judged (``money.usage``) before it is charged; a model that
reports more than it could have used is quarantined for :data:`QUARANTINE_S`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

from .. import telemetry
from ..contract.policy import ModelSpec, Policy, RetrySettings
from ..contract.step import StepConfig
from ..errors import ContentRefused, LimitExceeded, ProviderError, StoreError, redact
from ..money.limits import BudgetGuard, StepAllowance
from ..routing import gateway
from ..routing.candidates import Candidate, Skipped, windows_hold
from ..routing.circuit import CircuitBreaker
from ..routing.completion import Gateway
from ..routing.retry import retrying
from ..store.ledger import Ledger
from .attempt import QUARANTINE_S, Attempts, RunState
from .offload import offload
from .plan import AttemptSize, count_prompt_tokens, plan_step, size_attempt
from .policy_source import PolicyStore
from .prices import PRICES
from .run_types import RunOutcome, RunRequest, billable_prompt_tokens, prompt_token_bound
from .step_routing import config_hash, routing_of

__all__ = ["QUARANTINE_S", "Engine"]

_EXPIRY_EVERY_S = 60.0
log = logging.getLogger("auterity_ai_step.engine")
_LITELLM: Gateway = gateway


class _StepFailed(Exception):
    """Internal: stop the whole run now (content refusal without fallback)."""

    def __init__(self, model: str) -> None:
        self.model = model
        super().__init__(model)


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

    @property
    def _quick_policy(self) -> bool:
        """Whether reading the policy may be tried on the loop: only our own store's
        ``current`` is known to refuse instead of waiting (``nowait.py``)."""
        return type(self.policy_store).current is PolicyStore.current

    async def current_policy(self) -> Policy:
        """The policy in force. Re-reading it may read the ledger's model configurations,
        and a database wait must not stall the event loop: then it is read in a worker
        thread (:mod:`.offload`); between checks it is a field read."""
        return await offload(self.policy_store.current, quick=self._quick_policy)

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
        run = RunState(
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

    async def _count_exactly(self, run: RunState) -> bool:
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
        self,
        run: RunState,
        candidate: Candidate,
        settings: RetrySettings,
        later: Sequence[Candidate],
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
        quick = self.ledger.quick_writes and self._quick_policy
        attempts = Attempts(run, self.gateway, self.breaker, self.guard, self._clock, quick)
        try:
            async for attempt in retrying(
                settings,
                sleep=self._sleep,
                deadline=run.deadline,
                clock=self._clock,
                fallback_ready=lambda: any(self._fits(run, c.model) for c in later),
            ):
                with attempt:
                    await attempts.make(candidate, size)
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

    def _why_not(self, run: RunState, model: ModelSpec) -> str | None:
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

    def _size(self, run: RunState, model: ModelSpec) -> AttemptSize:
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

    def _fits(self, run: RunState, model: ModelSpec) -> bool:
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

    def _refuse(self, run: RunState, model: ModelSpec, exc: LimitExceeded) -> None:
        telemetry.record_refusal(model.name, model.provider, exc.limit)
        run.outcome.skipped.append(Skipped(model.name, f"refused by {exc.limit}: {exc}"))
        run.failures.append((model.name, f"refused by {exc.limit}: {exc}"))
        if run.outcome.error_type is None:
            run.outcome.error_type = "limit_exceeded"

    def _note_failure(self, run: RunState, model: ModelSpec, exc: ProviderError) -> None:
        tries = sum(1 for a in run.outcome.attempts if a.model_name == model.name)
        run.failures.append((model.name, f"{exc.kind} after {tries} attempt(s): {exc}"))
        run.outcome.error_type = exc.kind

    def _failed(self, run: RunState) -> RunOutcome:
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
