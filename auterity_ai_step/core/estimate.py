"""What a step would cost before it runs: each candidate's worst case against each limit.

Backs ``auterity-ai-step estimate``. Calls no model; it renders the prompt, counts its
tokens offline and reads today's spend from the ledger. Each candidate's ``max_tokens`` is
the one ``run`` would send: both read the same plan (:mod:`auterity_ai_step.core.plan`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..contract.policy import CostControls, Policy
from ..contract.step import validate_step_config
from ..contract.templates import build_messages
from ..money.limits import BudgetGuard
from ..money.prices import money_text
from ..routing.candidates import Skipped
from ..store.ledger import Ledger
from .plan import PlannedCandidate, count_prompt_tokens, plan_step
from .prices import PRICES

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
    plan = plan_step(policy, config, count_prompt_tokens(policy, config, messages), prices=PRICES)
    controls = policy.cost_controls
    report = StepEstimate(prompt_tokens=plan.prompt_tokens, skipped=list(plan.skipped))
    store = Ledger(db_url) if ledger is None else ledger
    try:
        if controls.daily_budget is not None:
            spent, reserved = store.day_status(BudgetGuard(store, policy).today(controls))
            report.daily_left = max(controls.daily_budget - spent - reserved, Decimal(0))
    finally:
        if ledger is None:
            store.close()
    report.rows = [
        _row(config.cost_limit, controls, planned, report.daily_left) for planned in plan.candidates
    ]
    return report


def _row(
    cost_limit: Decimal | None,
    controls: CostControls,
    planned: PlannedCandidate,
    daily_left: Decimal | None,
) -> CandidateEstimate:
    """One candidate as the first attempt of ``run`` would see it."""
    worst = planned.worst_case
    refused = planned.refused
    return CandidateEstimate(
        model=planned.model.name,
        max_tokens=planned.max_tokens,
        worst_case=worst,
        fits_cost_limit=_fits(worst, cost_limit),
        fits_per_request=_fits(worst, controls.per_request_limit),
        fits_daily=_fits(worst, daily_left),
        refused=None if refused is None else f"refused by {refused.limit}: {refused}",
    )
