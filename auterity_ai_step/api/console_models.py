"""Bodies of the console's API routes (pydantic only): usage series, performance, budget,
step estimate and validation, and the status stream's events.

Money is a decimal string of US dollars and a percentage a decimal string from 0 to 100, as
in :mod:`auterity_ai_step.api.models`; days are ISO dates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from .fields import Body, Money, Percent, StepConfigObject, WindowDays

__all__ = [
    "BudgetStatus",
    "CandidateCost",
    "ModelPerformance",
    "ModelStatusEvent",
    "PerformanceReport",
    "SeriesPoint",
    "SkippedCandidate",
    "StepCheck",
    "StepCheckRequest",
    "StepEstimateReport",
    "StepEstimateRequest",
    "TopCost",
    "TryAttempt",
    "TryRun",
    "UsageSeries",
]

GroupBy = Literal["model", "provider"]


class SeriesPoint(Body):
    """One group's usage on one UTC day."""

    day: str = Field(description="The UTC day, ISO format", examples=["2026-12-06"])
    group: str = Field(description="The model or provider name, as grouped by")
    calls: int = Field(description="Attempts made that day")
    errors: int = Field(description="Attempts that failed that day")
    total_tokens: int = Field(description="Input plus output tokens that day")
    cost: Money = Field(description="What the attempts cost that day, in US dollars")


class UsageSeries(Body):
    """Usage per day and per model or provider, for stacked cost charts."""

    days: WindowDays
    since: str = Field(description="The first day covered (UTC), ISO format")
    group_by: GroupBy = Field(description="What each point's group names: model or provider")
    groups: list[str] = Field(description="Every group that has a point, sorted")
    points: list[SeriesPoint] = Field(description="One point per day and group with usage")


class ModelPerformance(Body):
    """One model's latency, error rate and fallbacks over the window."""

    model: str = Field(description="The model's name")
    calls: int = Field(description="Attempts made on it")
    errors: int = Field(description="Attempts that failed")
    error_rate_percent: Percent = Field(description="errors as a percentage of calls")
    fallbacks: int = Field(description="Attempts on it as a fallback (not first in the chain)")
    p50_latency_ms: int = Field(description="Median attempt latency (nearest rank)")
    p95_latency_ms: int = Field(description="95th percentile attempt latency (nearest rank)")


class TopCost(Body):
    """One execution or workflow node and what its attempts cost."""

    key: str = Field(description="The execution id or node id")
    attempts: int = Field(description="Its attempts in the window")
    cost: Money = Field(description="What they cost, in US dollars")


class PerformanceReport(Body):
    """Per-model performance and the costliest executions and nodes."""

    days: WindowDays
    models: list[ModelPerformance] = Field(description="One entry per model with attempts")
    top_executions: list[TopCost] = Field(description="Executions costing most, dearest first")
    top_nodes: list[TopCost] = Field(description="Workflow nodes costing most, dearest first")


class BudgetStatus(Body):
    """Today's spend against the daily budget and the month's pace."""

    daily_budget: Money | None = Field(description="The policy's daily budget; null: none")
    alert_threshold_percent: Percent = Field(description="Share of the budget that alerts")
    alert_at: Money | None = Field(description="The spend that alerts; null without a budget")
    timezone: str = Field(description="The timezone the budget day is counted in")
    today: str = Field(description="Today's budget day, ISO format")
    spent_today: Money = Field(description="Booked today")
    reserved_today: Money = Field(description="Held by calls in flight")
    left_today: Money | None = Field(description="Budget minus spent and reserved; null: none")
    state: Literal["ok", "alert", "exhausted", "no_budget"] = Field(
        description="ok; alert at or over the threshold; exhausted when nothing is left; "
        "no_budget when the policy sets none"
    )
    month_spent: Money = Field(description="Booked this month up to and including today")
    month_days_elapsed: int = Field(description="Days of the month so far, today included")
    month_days: int = Field(description="Days in the month")
    month_projection: Money = Field(
        description="month_spent at this month's daily pace over the whole month"
    )
    month_budget: Money | None = Field(description="daily_budget times month_days; null: none")


class StepCheckRequest(BaseModel):
    """A step config to check, as the engine stores it in ``node.data``."""

    step: StepConfigObject


class StepCheck(Body):
    """Whether a step config validates, with the CLI ``validate`` command's own words."""

    valid: bool = Field(description="Whether it validates against the schema and the policy")
    legacy: bool = Field(description="Whether it is a legacy node (no config_version)")
    errors: list[str] = Field(description="Every problem, as `auterity-ai-step validate` says")


class StepEstimateRequest(BaseModel):
    """A step config and the workflow input its prompt is rendered with."""

    step: StepConfigObject
    input: dict[str, Any] = Field(
        default_factory=dict, description="Workflow data the templates read; {} for none"
    )
    each_model: bool = Field(
        default=False,
        description="Also estimate the step on every policy model alone (for a model picker)",
    )


class CandidateCost(Body):
    """One candidate's worst case against each limit (null: no such limit)."""

    model: str = Field(description="The candidate model")
    max_tokens: int | None = Field(description="max_tokens a run would send; null if refused")
    worst_case: Money | None = Field(description="Worst-case cost; null: model has no price")
    fits_cost_limit: bool | None = Field(description="Within the step's cost_limit")
    fits_per_request: bool | None = Field(description="Within the policy's per_request_limit")
    fits_daily: bool | None = Field(description="Within what is left of today's budget")
    refused: str | None = Field(description="Why a run would not even try it; null if it would")


class SkippedCandidate(Body):
    """A model left out of the chain before any limit was looked at."""

    model: str = Field(description="The model left out")
    reason: str = Field(description="Why")


class StepEstimateReport(Body):
    """The step's worst case per candidate, as ``auterity-ai-step estimate`` reports it."""

    prompt_tokens: int = Field(description="Counted prompt tokens (offline)")
    daily_left: Money | None = Field(description="Left of today's budget; null without one")
    candidates: list[CandidateCost] = Field(description="The chain's candidates, in order")
    skipped: list[SkippedCandidate] = Field(description="Models left out of the chain")
    each_model: list[CandidateCost] = Field(
        description="With each_model: the step's worst case with each policy model as its "
        "only model, in policy order; else empty"
    )


class ModelStatusEvent(Body):
    """One model's health in a status stream event."""

    model: str = Field(description="The model's name")
    status: str = Field(description="available, unavailable, slow or unknown")
    circuit: str = Field(description="The circuit breaker's state: closed, open or half_open")
    latency_ms: float | None = Field(description="Latency of the last check; null: none yet")
    checked_at: datetime | None = Field(description="When it was last checked; null: never")
    reason: str | None = Field(description="Why it is down (last error or quarantine reason)")


class TryAttempt(Body):
    """One attempt of a try-it run."""

    attempt: int = Field(description="The attempt's number, from 1, across all models")
    model: str = Field(description="The model called")
    outcome: str = Field(description="success or error")
    error_type: str | None = Field(description="Why it failed; null for a success")
    latency_ms: float = Field(description="Milliseconds the call took")
    total_tokens: int = Field(description="Input plus output tokens")
    cost: Money = Field(description="What it would have cost at the policy's prices")
    is_fallback: bool = Field(description="Whether the model was a fallback")


class TryRun(Body):
    """A step run on the built-in simulator: what the engine did, without a real call."""

    success: bool = Field(description="Whether the step produced an answer")
    response: str | None = Field(description="The simulator's answer; null on failure")
    model: str | None = Field(description="The model that answered; null on failure")
    cost: Money = Field(description="What its attempts would have cost at the policy's prices")
    error: str | None = Field(description="What went wrong, in words; null on success")
    error_type: str | None = Field(description="The step's ai_error_type; null on success")
    attempts: list[TryAttempt] = Field(description="Every attempt, in order")
