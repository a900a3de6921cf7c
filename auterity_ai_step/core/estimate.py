"""What a step would cost before it runs: each candidate's worst case against each limit.

Backs ``auterity-ai-step estimate``. Calls no model; it renders the prompt, counts its
tokens offline and reads today's spend from the ledger. Each candidate's ``max_tokens`` is
the one ``run`` would send (:func:`~auterity_ai_step.core.engine.attempt_max_tokens`): for a step
without ``max_tokens``, what the tightest in-process limit pays for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..contract.policy import ModelSpec, Policy
from ..contract.step import StepConfig, validate_step_config
from ..contract.templates import build_messages
from ..errors import LimitExceeded
from ..money.limits import BudgetGuard, StepAllowance
from ..money.prices import money_text, price_for, worst_case_cost
from ..routing.candidates import Skipped, build_chain
from ..store.ledger import Ledger
from .engine import attempt_max_tokens, count_prompt_tokens
from .run_types import billable_prompt_tokens

__all__ = ["CandidateEstimate", "StepEstimate", "estimate_step"]


@dataclass(frozen=True, slots=True)
class CandidateEstimate:
    """One candidate's worst case and whether it fits each limit (None: no such limit).

    ``max_tokens`` is what ``run`` would send. ``refused`` says why ``run`` would not even
    try the candidate (not one useful answer fits a limit); ``max_tokens`` is then None and
    ``worst_case`` the cost of the smallest useful attempt.
    """

    model: str
    max_tokens: int | None
    worst_case: Decimal | None
    fits_cost_limit: bool | None
    fits_per_request: bool | None
    fits_daily: bool | None
    refused: str | None = None


@dataclass(slots=True)
class StepEstimate:
    prompt_tokens: int
    rows: list[CandidateEstimate] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    daily_left: Decimal | None = None

    @property
    def daily_left_text(self) -> str:
        return "no daily budget" if self.daily_left is None else f"${money_text(self.daily_left)}"


def _fits(amount: Decimal | None, limit: Decimal | None) -> bool | None:
    if limit is None:
        return None
    return amount is not None and amount <= limit


def estimate_step(
    data: Mapping[str, Any],
    input_data: Mapping[str, Any],
    policy: Policy,
    db_url: str | None = None,
    *,
    ledger: Ledger | None = None,
) -> StepEstimate:
    """Worst cases for every candidate of the step ``data`` given ``input_data``.

    Today's spend is read from ``ledger``, else from a ledger opened on ``db_url`` (closed
    again), when the policy has a daily budget.
    """
    config = validate_step_config(data, policy)
    messages = build_messages(config, input_data)
    prompt_tokens = count_prompt_tokens(policy, config, messages)
    chain, skipped = build_chain(config, policy, prompt_tokens=prompt_tokens, breaker=None)
    controls = policy.cost_controls
    report = StepEstimate(prompt_tokens=prompt_tokens, skipped=list(skipped))
    store = Ledger(db_url) if ledger is None else ledger
    try:
        guard = BudgetGuard(store, policy)
        if controls.daily_budget is not None:
            spent, reserved = store.day_status(guard.today())
            report.daily_left = max(controls.daily_budget - spent - reserved, Decimal(0))
        billed = billable_prompt_tokens(prompt_tokens)
        for candidate in chain:
            report.rows.append(
                _candidate(config, candidate.model, billed, guard, report.daily_left)
            )
    finally:
        if ledger is None:
            store.close()
    return report


def _candidate(
    config: StepConfig,
    model: ModelSpec,
    billed: int,
    guard: BudgetGuard,
    daily_left: Decimal | None,
) -> CandidateEstimate:
    """One candidate as the first attempt of ``run`` would see it."""
    controls = guard.controls()
    price = price_for(model)
    max_tokens: int | None
    refused = None
    try:
        max_tokens = attempt_max_tokens(
            config.max_tokens, model, price, billed, guard, StepAllowance(config.cost_limit)
        )
    except LimitExceeded as exc:
        max_tokens, refused = None, f"refused by {exc.limit}: {exc}"
        worst = exc.needed
    else:
        worst = None if price is None else worst_case_cost(price, billed, max_tokens)
    return CandidateEstimate(
        model=model.name,
        max_tokens=max_tokens,
        worst_case=worst,
        fits_cost_limit=_fits(worst, config.cost_limit),
        fits_per_request=_fits(worst, controls.per_request_limit),
        fits_daily=_fits(worst, daily_left),
        refused=refused,
    )
