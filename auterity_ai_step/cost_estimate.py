"""What a step would cost before it runs: each candidate's worst case against each limit.

Backs ``auterity-ai-step estimate``. Calls no model; it renders the prompt, counts its
tokens offline and reads today's spend from the ledger.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .contract.policy import Policy
from .contract.step import validate_step_config
from .contract.templates import build_messages
from .engine import count_prompt_tokens
from .money.limits import BudgetGuard
from .money.prices import money_text, price_for, worst_case_cost
from .routing.candidates import Skipped, build_chain
from .run_types import billable_prompt_tokens
from .store.ledger import Ledger

__all__ = ["CandidateEstimate", "StepEstimate", "estimate_step"]


@dataclass(frozen=True, slots=True)
class CandidateEstimate:
    """One candidate's worst case and whether it fits each limit (None: no such limit)."""

    model: str
    max_tokens: int
    worst_case: Decimal | None
    fits_cost_limit: bool | None
    fits_per_request: bool | None
    fits_daily: bool | None


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
    data: Mapping[str, Any], input_data: Mapping[str, Any], policy: Policy, db_url: str | None
) -> StepEstimate:
    """Worst cases for every candidate of the step ``data`` given ``input_data``."""
    config = validate_step_config(data, policy)
    messages = build_messages(config, input_data)
    prompt_tokens = count_prompt_tokens(policy, config, messages)
    chain, skipped = build_chain(config, policy, prompt_tokens=prompt_tokens, breaker=None)
    controls = policy.cost_controls
    report = StepEstimate(prompt_tokens=prompt_tokens, skipped=list(skipped))
    if controls.daily_budget is not None:
        ledger = Ledger(db_url)
        try:
            spent, reserved = ledger.day_status(BudgetGuard(ledger, controls).today())
        finally:
            ledger.close()
        report.daily_left = max(controls.daily_budget - spent - reserved, Decimal(0))
    for candidate in chain:
        model = candidate.model
        max_tokens = min(config.max_tokens or model.max_output_tokens, model.max_output_tokens)
        price = price_for(model)
        billed = billable_prompt_tokens(prompt_tokens)
        worst = None if price is None else worst_case_cost(price, billed, max_tokens)
        report.rows.append(
            CandidateEstimate(
                model=model.name,
                max_tokens=max_tokens,
                worst_case=worst,
                fits_cost_limit=_fits(worst, config.cost_limit),
                fits_per_request=_fits(worst, controls.per_request_limit),
                fits_daily=_fits(worst, report.daily_left),
            )
        )
    return report
