"""The what-if report: totals then and now, the steps a limit refuses, and its JSON form.

:mod:`.whatif` fills it by replaying recorded steps; the CLI's ``whatif`` (text and
``--json``), ``POST /api/models/whatif`` and the console read it. Money stays ``Decimal``
here and becomes a decimal string only in :meth:`WhatIfReport.to_data`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ..money.prices import money_text

__all__ = [
    "CAVEATS",
    "LISTED",
    "BudgetDayNow",
    "ContextMiss",
    "RefusedStep",
    "Totals",
    "WhatIfReport",
]

_ZERO = Decimal(0)
#: How many refused and context-window steps the report lists one by one (all are counted).
LISTED = 50

#: What the report says every time, because a replay cannot know it.
CAVEATS = (
    "Answer quality is unknown: a replay prices the same answers, it cannot judge another model's.",
    "Token counts are the recorded model's: another model's tokenizer counts the same text "
    "differently. 'now (token estimate)' rescales them by LiteLLM's tokenizers where it has "
    "both, measured on one sample text; it is an estimate.",
    "Availability is assumed: every candidate is taken to answer at its first attempt.",
)


@dataclass(slots=True)
class Totals:
    """Steps and cost then and now in one group (a model, task type, node or day)."""

    steps_then: int = 0
    steps_now: int = 0
    cost_then: Decimal = _ZERO
    cost_now: Decimal = _ZERO

    def to_data(self) -> dict[str, Any]:
        return {
            "steps_then": self.steps_then,
            "steps_now": self.steps_now,
            "cost_then": money_text(self.cost_then),
            "cost_now": money_text(self.cost_now),
            "difference": money_text(self.cost_now - self.cost_then),
        }


@dataclass(frozen=True, slots=True)
class RefusedStep:
    """A step no candidate could take: every one was refused by a limit (or none fitted)."""

    execution_id: str | None
    node_id: str | None
    at: datetime
    limit: str
    reason: str

    def to_data(self) -> dict[str, Any]:
        return {
            "execution_id": self.execution_id,
            "node_id": self.node_id,
            "at": self.at.isoformat(),
            "limit": self.limit,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class ContextMiss:
    """A model the step would have been routed to whose context window is too small."""

    execution_id: str | None
    node_id: str | None
    model: str
    context_window: int
    needed: int
    routed_to: str | None

    def to_data(self) -> dict[str, Any]:
        return {
            "execution_id": self.execution_id,
            "node_id": self.node_id,
            "model": self.model,
            "context_window": self.context_window,
            "needed": self.needed,
            "routed_to": self.routed_to,
        }


@dataclass(slots=True)
class BudgetDayNow:
    """One day of the candidate's daily budget: spent, and when it would have run out."""

    day: date
    budget: Decimal
    spent: Decimal = _ZERO
    reserved: Decimal = _ZERO
    refused_steps: int = 0
    ran_out_at: datetime | None = None
    alert_at: datetime | None = None

    def to_data(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "budget": money_text(self.budget),
            "spent": money_text(self.spent),
            "refused_steps": self.refused_steps,
            "ran_out_at": None if self.ran_out_at is None else self.ran_out_at.isoformat(),
            "alert_at": None if self.alert_at is None else self.alert_at.isoformat(),
        }


@dataclass(slots=True)
class WhatIfReport:
    """Totals then and now, by model, task type, node and day, and the steps that change.

    ``cost_now`` prices recorded tokens; ``cost_now_estimate`` rescales them by tokenizer
    ratios where known (``estimated_steps`` of them), an estimate. ``old_steps``: recorded
    before the ledger kept routing (revision 0004), replayed with the model they went to.
    """

    policy_version: str
    since: datetime | None
    execution_id: str | None
    steps: int = 0
    unanswered_then: int = 0
    old_steps: int = 0
    total: Totals = field(default_factory=Totals)
    cost_now_estimate: Decimal = _ZERO
    estimated_steps: int = 0
    unestimated_steps: int = 0
    truncated_steps: int = 0
    by_model: dict[str, Totals] = field(default_factory=dict)
    by_task_type: dict[str, Totals] = field(default_factory=dict)
    by_node: dict[str, Totals] = field(default_factory=dict)
    by_day_model: dict[tuple[str, str], Totals] = field(default_factory=dict)
    refused: list[RefusedStep] = field(default_factory=list)
    refused_by_limit: dict[str, int] = field(default_factory=dict)
    context_misses: list[ContextMiss] = field(default_factory=list)
    context_miss_steps: int = 0
    budget_days: dict[date, BudgetDayNow] = field(default_factory=dict)

    @property
    def caveats(self) -> tuple[str, ...]:
        """What a replay cannot know (:data:`CAVEATS`); every report says it."""
        return CAVEATS

    def to_data(self) -> dict[str, Any]:
        """JSON-friendly form (money as decimal strings): the CLI's ``--json`` and the API."""
        return {
            "policy_version": self.policy_version,
            "since": None if self.since is None else self.since.isoformat(),
            "execution_id": self.execution_id,
            "steps": self.steps,
            "unanswered_then": self.unanswered_then,
            "old_steps": self.old_steps,
            "total": self.total.to_data(),
            "cost_now_estimate": money_text(self.cost_now_estimate),
            "estimated_steps": self.estimated_steps,
            "unestimated_steps": self.unestimated_steps,
            "truncated_steps": self.truncated_steps,
            "by_model": _groups(self.by_model),
            "by_task_type": _groups(self.by_task_type),
            "by_node": _groups(self.by_node),
            "by_day_model": [
                {"day": day, "model": model, **totals.to_data()}
                for (day, model), totals in sorted(self.by_day_model.items())
            ],
            "refused_steps": sum(self.refused_by_limit.values()),
            "refused_by_limit": dict(sorted(self.refused_by_limit.items())),
            "refused": [r.to_data() for r in self.refused],
            "context_miss_steps": self.context_miss_steps,
            "context_misses": [m.to_data() for m in self.context_misses],
            "budget_days": [
                d.to_data() for d in sorted(self.budget_days.values(), key=lambda d: d.day)
            ],
            "caveats": list(self.caveats),
        }


def _groups(groups: Mapping[str, Totals]) -> list[dict[str, Any]]:
    return [{"name": name, **totals.to_data()} for name, totals in sorted(groups.items())]
