"""What recorded steps would have cost, and where they would have gone, under another policy.

Backs ``auterity-ai-step whatif``, ``POST /api/models/whatif`` and the console's "What if" page.
Each recorded step is routed again with the engine's own planning code: the candidate chain
(:func:`~auterity_ai_step.routing.candidates.build_chain`: task preferences, fallbacks,
context windows), the ``max_tokens`` an attempt would be sent with
(:func:`~auterity_ai_step.core.plan.size_attempt`) and the worst-case reservation against
``per_request_limit``, the step's ``cost_limit`` and the daily budget
(:class:`~auterity_ai_step.money.limits.BudgetGuard`), the budget walked day by day in the
candidate's time zone. The first candidate that fits is taken to answer with the step's
recorded prompt and completion tokens, priced at the candidate's prices.

What a replay cannot know: whether the other model's answer would have been as good, whether
it would have been up, and how many tokens it would have counted for the same text. The last
is estimated from LiteLLM's tokenizers where it has both (:data:`CAVEATS`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from ..contract.policy import ModelSpec, Policy
from ..contract.step import StepConfig
from ..errors import LimitExceeded
from ..money.limits import StepAllowance
from ..money.prices import cost_of
from ..routing import gateway
from ..routing.candidates import (
    DEFAULT_OUTPUT_RESERVE as DEFAULT_RESERVE,
)
from ..routing.candidates import (
    Candidate,
    Skipped,
    build_chain,
    output_reserve,
)
from ..store.ledger import Ledger
from ..store.whatif_rows import RecordedAttempt
from .plan import AttemptSize, size_attempt
from .prices import PRICES
from .run_types import billable_prompt_tokens
from .step_routing import config_from_routing
from .whatif_budget import DayBook, ReplayGuard
from .whatif_report import (
    CAVEATS,
    LISTED,
    ContextMiss,
    RefusedStep,
    Totals,
    WhatIfReport,
)

__all__ = ["CAVEATS", "WhatIfReport", "replay_attempts", "what_if"]

_ZERO = Decimal(0)
_NONE = "(none)"
_NOT_RECORDED = "(not recorded)"


@dataclass(slots=True)
class _Step:
    """One recorded run of a step: its attempts folded into what a replay needs."""

    first: RecordedAttempt
    cost_then: Decimal = _ZERO
    answer: RecordedAttempt | None = None
    attempts: int = 0


def what_if(
    policy: Policy,
    ledger: Ledger | str | None = None,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    execution_id: str | None = None,
) -> WhatIfReport:
    """Replay the steps recorded in the ledger under ``policy``: what they would have cost.

    ``ledger`` is a ledger, a database URL, or None for the default one
    (``AUTERITY_AI_DATABASE_URL``, else the SQLite file in the user's data directory).
    ``since`` (inclusive) and ``until`` (exclusive) bound the window by the time the
    steps ran, ``execution_id`` picks one execution. It reads the ledger only and calls no
    model: the candidate's daily budget is walked in memory. For example::

        from datetime import UTC, datetime, timedelta
        from auterity_ai_step import load_policy, what_if

        week_ago = datetime.now(UTC) - timedelta(days=7)
        report = what_if(load_policy("candidate.yml"), since=week_ago)
        print(report.total.cost_then, report.total.cost_now, report.refused_by_limit)
        report.to_data()  # as `auterity-ai-step whatif --json` prints it
    """
    store = ledger if isinstance(ledger, Ledger) else Ledger(ledger)
    try:
        rows = store.recorded_attempts(since=since, until=until, execution_id=execution_id)
    finally:
        if store is not ledger:
            store.close()
    return replay_attempts(rows, policy, since=since, execution_id=execution_id)


def replay_attempts(
    rows: Iterable[RecordedAttempt],
    policy: Policy,
    *,
    since: datetime | None = None,
    execution_id: str | None = None,
) -> WhatIfReport:
    """Replay recorded attempts (oldest first) under ``policy``: see :func:`what_if`."""
    report = WhatIfReport(policy.version, since, execution_id)
    replay = _Replay(policy, report)
    for step in _steps(rows):
        replay.step(step)
    return report


def _steps(rows: Iterable[RecordedAttempt]) -> list[_Step]:
    """Fold attempts into steps: by ``step_run``; older rows by execution and node, a new
    step starting at each attempt number 1."""
    steps: list[_Step] = []
    by_run: dict[str, _Step] = {}
    open_old: dict[tuple[str | None, str | None], _Step] = {}
    for row in rows:
        step: _Step | None
        if row.step_run is not None:
            step = by_run.get(row.step_run)
            if step is None:
                step = by_run[row.step_run] = _Step(row)
                steps.append(step)
        else:
            key = (row.execution_id, row.node_id)
            step = open_old.get(key)
            if step is None or row.attempt <= 1:
                step = open_old[key] = _Step(row)
                steps.append(step)
        step.attempts += 1
        step.cost_then += row.cost
        if row.status == "success":
            step.answer = row
    return steps


class _Replay:
    """Routes recorded steps one by one under the candidate policy, filling the report."""

    def __init__(self, policy: Policy, report: WhatIfReport) -> None:
        self.policy = policy
        self.report = report
        self.controls = policy.cost_controls
        self.zone = ZoneInfo(self.controls.timezone)
        self.book = DayBook(report.budget_days, self.controls.alert_threshold)
        self.guard = ReplayGuard(cast(Ledger, self.book), policy)
        self._configs: dict[tuple[Any, ...], StepConfig] = {}
        self._ratios: dict[tuple[str, str], Decimal | None] = {}
        self._specs = tuple(policy.models.values())
        self._chains: dict[tuple[Any, ...], tuple[list[Candidate], list[Skipped]]] = {}

    def step(self, step: _Step) -> None:
        report = self.report
        first = step.first
        report.steps += 1
        report.old_steps += first.routing is None
        task = first.task_type or _NOT_RECORDED
        node = first.node_id or _NONE
        day_key = first.created_at.astimezone(self.zone).date()
        groups = [_group(report.by_task_type, task), _group(report.by_node, node), report.total]
        then_model = step.answer.model_name if step.answer is not None else first.model_name
        for totals in (*groups, _group(report.by_model, then_model)):
            totals.steps_then += 1
            totals.cost_then += step.cost_then
        day_then = _group(report.by_day_model, (day_key.isoformat(), then_model))
        day_then.steps_then += 1
        day_then.cost_then += step.cost_then
        if step.answer is None:
            report.unanswered_then += 1
            return
        routed = self._route(step, day_key)
        if routed is None:
            return
        model, cost, estimate = routed
        for totals in (*groups, _group(report.by_model, model.name)):
            totals.steps_now += 1
            totals.cost_now += cost
        day_now = _group(report.by_day_model, (day_key.isoformat(), model.name))
        day_now.steps_now += 1
        day_now.cost_now += cost
        report.cost_now_estimate += estimate

    def _config(self, first: RecordedAttempt) -> StepConfig:
        key: tuple[Any, ...] = (
            (first.config_hash, first.task_type, first.cost_preference)
            if first.routing is not None and first.config_hash is not None
            else (first.model_name, first.task_type, first.cost_preference, repr(first.routing))
        )
        config = self._configs.get(key)
        if config is None:
            config = self._configs[key] = config_from_routing(
                first.routing,
                first_model=first.model_name,
                task_type=first.task_type,
                cost_preference=first.cost_preference,
            )
        return config

    def _chain(self, config: StepConfig, counted: int) -> tuple[list[Candidate], list[Skipped]]:
        """:func:`build_chain` for ``config`` and ``counted`` prompt tokens, memoised.

        Its answer depends on the prompt's size only through which models' context windows
        hold it (for ``model: auto`` and for each candidate's own output reserve), so steps
        of one config that fit the same windows share one call. A chain with no candidate is
        always rebuilt, so its reasons carry the step's own token counts.
        """
        auto_reserve = config.max_tokens if config.max_tokens is not None else DEFAULT_RESERVE
        fits = tuple(
            (
                spec.context_window >= counted + auto_reserve,
                spec.context_window >= counted + output_reserve(config, spec),
            )
            for spec in self._specs
        )
        key = (id(config), fits)
        known = self._chains.get(key)
        if known is None or not known[0]:
            known = build_chain(
                config, self.policy, prompt_tokens=counted, breaker=None, prices=PRICES
            )
            self._chains[key] = known
        return known

    def _route(self, step: _Step, day: date) -> tuple[ModelSpec, Decimal, Decimal] | None:
        """The model that would have answered, its cost, and its token-estimated cost."""
        answer = step.answer
        assert answer is not None
        first = step.first
        config = self._config(first)
        routing = first.routing
        counted = int(routing.get("prompt_tokens") or 0) if routing else answer.prompt_tokens
        chain, skipped = self._chain(config, counted)
        self._context_misses(step, config, counted, skipped, chain)
        self.guard.day = day
        billed = billable_prompt_tokens(counted)
        allowance = StepAllowance(config.cost_limit)
        refusals: list[LimitExceeded] = []
        for candidate in chain:
            spec = candidate.model
            try:
                size = size_attempt(
                    config,
                    spec,
                    billed,
                    prices=PRICES,
                    controls=self.controls,
                    allowance=allowance,
                )
                reservation = self.guard.reserve_attempt(
                    size.worst_case, step_allowance=allowance, model=spec.name
                )
            except LimitExceeded as exc:
                refusals.append(exc)
                continue
            cost, estimate = self._answer(answer, spec, size)
            allowance.settle(reservation.amount, cost)
            self.book.settle(day, reservation.amount, cost, answer.created_at)
            return spec, cost, estimate
        self._refused(step, day, refusals, skipped_reason=None if chain else skipped)
        return None

    def _answer(
        self, answer: RecordedAttempt, spec: ModelSpec, size: AttemptSize
    ) -> tuple[Decimal, Decimal]:
        """The recorded answer priced on ``spec``: (cost, token-estimated cost). An answer
        longer than the attempt's ``max_tokens`` is cut there (a truncated step)."""
        price, max_tokens = size.price, size.max_tokens
        completion = answer.completion_tokens
        if completion > max_tokens:
            self.report.truncated_steps += 1
            completion = max_tokens
        cost = _ZERO if price is None else cost_of(price, answer.prompt_tokens, completion)
        ratio = self._ratio(answer, spec)
        if ratio is None or price is None:
            self.report.unestimated_steps += 1
            return cost, cost
        self.report.estimated_steps += ratio != 1
        estimate = cost_of(
            price,
            _scaled(answer.prompt_tokens, ratio),
            min(_scaled(completion, ratio), max_tokens),
        )
        return cost, estimate

    def _context_misses(
        self,
        step: _Step,
        config: StepConfig,
        counted: int,
        skipped: Iterable[Any],
        chain: list[Any],
    ) -> None:
        routed_to = chain[0].model.name if chain else None
        missed = False
        for skip in skipped:
            spec = self.policy.models.get(skip.model)
            if spec is None:
                continue
            needed = counted + output_reserve(config, spec)
            if spec.context_window >= needed:
                continue
            missed = True
            if len(self.report.context_misses) < LISTED:
                self.report.context_misses.append(
                    ContextMiss(
                        step.first.execution_id,
                        step.first.node_id,
                        spec.name,
                        spec.context_window,
                        needed,
                        routed_to,
                    )
                )
        self.report.context_miss_steps += missed

    def _refused(
        self,
        step: _Step,
        day: date,
        refusals: list[LimitExceeded],
        *,
        skipped_reason: list[Any] | None,
    ) -> None:
        report = self.report
        if refusals:
            last = refusals[-1]
            limit, reason = last.limit or "limit", str(last)
        else:
            limit = "no_candidate"
            reasons = "; ".join(f"{s.model}: {s.reason}" for s in skipped_reason or ())
            reason = f"no candidate model ({reasons or 'none in the policy'})"
        report.refused_by_limit[limit] = report.refused_by_limit.get(limit, 0) + 1
        if limit == "daily_budget":
            book = report.budget_days[day]
            book.refused_steps += 1
            if book.ran_out_at is None:
                book.ran_out_at = step.first.created_at
        if len(report.refused) < LISTED:
            report.refused.append(
                RefusedStep(
                    step.first.execution_id,
                    step.first.node_id,
                    step.first.created_at,
                    limit,
                    reason,
                )
            )

    def _ratio(self, answer: RecordedAttempt, spec: ModelSpec) -> Decimal | None:
        source_spec = self.policy.models.get(answer.model_name)
        source = (
            gateway.tokenizer_family(source_spec.litellm_model, source_spec.provider)
            if source_spec is not None
            else gateway.tokenizer_family(answer.model_name, answer.provider)
        )
        target = gateway.tokenizer_family(spec.litellm_model, spec.provider)
        if answer.model_name == spec.name:
            return Decimal(1)
        key = (source or "", target or "")
        if key not in self._ratios:
            self._ratios[key] = gateway.tokenizer_ratio(source, target)
        return self._ratios[key]


def _group(groups: dict[Any, Totals], key: Any) -> Totals:
    totals = groups.get(key)
    if totals is None:
        totals = groups[key] = Totals()
    return totals


def _scaled(tokens: int, ratio: Decimal) -> int:
    return int((tokens * ratio).to_integral_value())
