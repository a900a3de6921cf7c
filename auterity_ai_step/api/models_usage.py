"""The usage bodies: totals by model and by day with the budget figures, and one
execution's attempts (pydantic only).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from .fields import (
    Body,
    FailedAttempts,
    Money,
    Percent,
    TotalTokens,
)

__all__ = [
    "BudgetFigures",
    "DayUsage",
    "ExecutionUsage",
    "ModelUsageTotals",
    "UsageReport",
    "UsageRow",
]


class ModelUsageTotals(Body):
    """One model's totals over the report's days."""

    model_name: str = Field(description="The model the attempts went to", examples=["gpt-4o-mini"])
    provider: str = Field(
        description="The provider recorded with those attempts", examples=["openai"]
    )
    calls: int = Field(
        description="Attempts recorded (every retry and fallback call counts as one)", examples=[42]
    )
    errors: int = Field(description="Of those, attempts that failed (status error)", examples=[3])
    prompt_tokens: int = Field(description="Input (prompt) tokens of those attempts")
    completion_tokens: int = Field(description="Output (completion) tokens of those attempts")
    total_tokens: TotalTokens
    cost: Money = Field(description="What those attempts cost, in US dollars", examples=["0.0125"])


class DayUsage(Body):
    """The totals of one UTC calendar day."""

    day: str = Field(
        description="The UTC calendar day (YYYY-MM-DD) the attempts were recorded on",
        examples=["2025-01-31"],
    )
    calls: int = Field(
        description="Attempts recorded that day (every retry and fallback call counts as one)"
    )
    errors: FailedAttempts
    prompt_tokens: int = Field(description="Input (prompt) tokens of that day's attempts")
    completion_tokens: int = Field(description="Output (completion) tokens of that day's attempts")
    total_tokens: TotalTokens
    cost: Money = Field(description="What that day's attempts cost, in US dollars")


class BudgetFigures(Body):
    """The daily budget and where today stands, for the budget day in the policy's time zone.

    Not limited to the report's model: the budget is shared by all models.
    """

    daily_budget: Money | None = Field(
        description="The policy's cost_controls.daily_budget in US dollars; null when no "
        "daily budget is set",
        examples=["100"],
    )
    period_budget: Money | None = Field(
        description="daily_budget times the report's days, in US dollars; null without a "
        "daily budget",
        examples=["700"],
    )
    alert_threshold_percent: Percent = Field(
        description="The policy's cost_controls.alert_threshold: the percentage of "
        "daily_budget (0 to 100) spent at which the daily budget alert fires",
        examples=["80"],
    )
    timezone: str = Field(
        description="The IANA time zone whose calendar day the daily budget counts "
        "(cost_controls.timezone)",
        examples=["UTC", "Europe/Berlin"],
    )
    today: str = Field(
        description="The current budget day (YYYY-MM-DD) in that time zone, the day "
        "spent_today, reserved_today and left_today are for",
        examples=["2025-01-31"],
    )
    spent_today: Money = Field(
        description="US dollars spent on the budget day: the actual cost of settled attempts",
        examples=["1.25"],
    )
    reserved_today: Money = Field(
        description="US dollars held on the budget day by attempts still running (their "
        "worst-case cost until they settle)",
        examples=["0.02"],
    )
    left_today: Money | None = Field(
        description="daily_budget minus spent_today and reserved_today in US dollars, never "
        "below 0; null without a daily budget",
        examples=["98.73"],
    )


class UsageReport(Body):
    """Tokens and cost over the last ``days`` UTC days, with the budget figures."""

    days: int = Field(
        ge=1,
        le=90,
        description="Days covered: today (UTC) and the days before it, 1 to 90",
        examples=[7],
    )
    since: datetime = Field(
        description="Start of the period: midnight UTC of its first day, ISO 8601",
        examples=["2025-01-25T00:00:00Z"],
    )
    model: str | None = Field(
        description="The model the report is limited to (the model query parameter); null "
        "for all models"
    )
    calls: int = Field(description="Attempts recorded in the period (retries and fallbacks count)")
    errors: FailedAttempts
    total_tokens: int = Field(description="Input plus output tokens of those attempts")
    total_cost: Money = Field(
        description="What those attempts cost, in US dollars", examples=["0.0375453"]
    )
    by_model: list[ModelUsageTotals] = Field(
        description="Totals per model and provider, sorted by model name"
    )
    by_day: list[DayUsage] = Field(
        description="Totals per UTC day, oldest first; days without attempts are left out"
    )
    budget: BudgetFigures = Field(description="The daily budget figures (for all models)")


class UsageRow(Body):
    """One attempt (one model call) as the ledger recorded it."""

    id: str = Field(
        description="The row's id: a UUID made when the attempt was recorded, so a retried "
        "write is stored once"
    )
    execution_id: str | None = Field(
        description="The workflow execution the attempt belongs to; null when none was given"
    )
    node_id: str | None = Field(
        description="The workflow node (step) that made the attempt; null when none was given"
    )
    model_name: str = Field(description="The model called", examples=["gpt-4o-mini"])
    provider: str = Field(description="The model's provider", examples=["openai"])
    prompt_tokens: int = Field(
        description="Input tokens, as the provider reported them (estimated when it reported none)"
    )
    completion_tokens: int = Field(
        description="Output tokens, as the provider reported them (estimated when it reported none)"
    )
    total_tokens: TotalTokens
    cost: Money = Field(
        description="What the attempt cost in US dollars: its tokens times the model's price "
        "per 1,000 tokens, exact to 10 decimal places; 0 when the provider returned an error "
        "or the model has no known price",
        examples=["0.0005253"],
    )
    latency_ms: int = Field(description="Milliseconds the call took, rounded", examples=[812])
    status: str = Field(
        description="success, or error when the attempt failed (see error_type)",
        examples=["success"],
    )
    error_type: str | None = Field(
        description="Why the attempt failed, e.g. timeout, rate_limited, unavailable, "
        "authentication, context_window, invalid_output; null for a success",
        examples=["timeout"],
    )
    attempt: int = Field(
        description="The attempt's number within its step, from 1, counted across all models tried",
        examples=[1],
    )
    is_fallback: bool = Field(
        description="Whether the model was a fallback, not the first in the step's candidate chain"
    )
    price_version: str | None = Field(
        description="policy_version of the policy whose prices costed the attempt; null when "
        "the writer recorded none",
        examples=["3f9a0c1b2d4e"],
    )
    created_at: datetime = Field(description="When the attempt was recorded, ISO 8601 in UTC")


class ExecutionUsage(Body):
    """Every attempt recorded against one workflow execution, with totals."""

    execution_id: str = Field(description="The execution asked for", examples=["exec-9"])
    attempts: int = Field(description="How many attempts are recorded for it; 0 when none")
    total_tokens: int = Field(description="Input plus output tokens of all its attempts")
    total_cost: Money = Field(
        description="What all its attempts cost, in US dollars", examples=["0.0375453"]
    )
    rows: list[UsageRow] = Field(description="Its attempts, oldest first; empty when none")
