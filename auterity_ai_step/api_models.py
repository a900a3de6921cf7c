"""The model management API's request and response bodies (pydantic only, no FastAPI).

Money is a decimal string (``"0.00015"``), never a float, so no rounding creeps in between
the ledger and a dashboard; times are ISO 8601 in UTC. Nothing here can hold a secret: the
config view names the environment variable a model reads its key from and says whether it
is set, never its value.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AvailableModel",
    "AvailableModels",
    "BudgetFigures",
    "ConfigErrors",
    "ConfigModel",
    "ConfigRejected",
    "ConfigView",
    "DayUsage",
    "ErrorMessage",
    "ExecutionUsage",
    "HealthCheckRequest",
    "HealthCheckResult",
    "ModelUsageTotals",
    "Preference",
    "RankedEntry",
    "Recommendations",
    "UnknownModel",
    "UnknownModelDetail",
    "UsageReport",
    "UsageRow",
    "money",
]

Money = Annotated[
    str,
    Field(
        pattern=r"^-?[0-9]+(\.[0-9]+)?$",
        description="US dollars as an exact decimal string",
        examples=["0.00015"],
    ),
]
Preference = Literal["cheapest", "balanced", "quality"]
HealthState = Literal["available", "slow", "unavailable", "unknown"]
CircuitState = Literal["closed", "open", "half_open"]


def money(amount: Decimal) -> str:
    """A Decimal as a plain decimal string: no exponent, no trailing zeros."""
    text = format(amount.normalize(), "f")
    return "0" if text in ("-0", "") else text


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class AvailableModel(_Out):
    name: str = Field(examples=["gpt-4o-mini"])
    provider: str = Field(examples=["openai"])
    input_cost_per_1k: Money | None = Field(description="Input price per 1k tokens")
    output_cost_per_1k: Money | None = Field(description="Output price per 1k tokens")
    price_source: Literal["policy", "litellm"] | None
    context_window: int = Field(examples=[128000])
    max_output_tokens: int = Field(examples=[16384])
    capabilities: list[str] = Field(examples=[["text", "chat", "json"]])
    use_cases: list[str] = Field(examples=[["general", "customer_service"]])
    quality: int = Field(ge=1, le=10, examples=[6])
    status: HealthState = Field(description="Last known health; no call is made to list it")
    circuit: CircuitState
    latency_ms: float | None = Field(description="Latency of the last health check")
    last_checked: datetime | None = Field(description="When the last check ran (UTC)")


class AvailableModels(_Out):
    policy_version: str = Field(examples=["3f9a0c1b2d4e"])
    default_model: str = Field(examples=["gpt-4o-mini"])
    models: list[AvailableModel]


class ModelUsageTotals(_Out):
    model_name: str
    provider: str
    calls: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost: Money


class DayUsage(_Out):
    day: str = Field(description="UTC calendar day", examples=["2025-01-31"])
    calls: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost: Money


class BudgetFigures(_Out):
    daily_budget: Money | None = Field(description="None: no daily budget set")
    period_budget: Money | None = Field(description="daily_budget times the period's days")
    alert_threshold_percent: Money
    timezone: str = Field(examples=["UTC"])
    today: str = Field(description="The budget day in the policy's time zone")
    spent_today: Money
    reserved_today: Money = Field(description="Held by attempts still running")
    left_today: Money | None = Field(description="None without a daily budget")


class UsageReport(_Out):
    days: int = Field(ge=1, le=90, examples=[7])
    since: datetime
    model: str | None
    calls: int
    errors: int
    total_tokens: int
    total_cost: Money
    by_model: list[ModelUsageTotals]
    by_day: list[DayUsage]
    budget: BudgetFigures


class HealthCheckRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"model": "gpt-4o-mini"}]}
    )

    model: str = Field(min_length=1, max_length=200)


class HealthCheckResult(_Out):
    model: str
    status: HealthState
    latency_ms: float | None
    error: str | None = Field(description="Why the model is unavailable (secrets redacted)")
    checked_at: datetime
    circuit: CircuitState


class RankedEntry(_Out):
    rank: int = Field(ge=1)
    model: str
    provider: str
    score: float
    fits: bool = Field(description="False when the context window is too small")
    quality: int
    estimated_cost_per_1k: Money | None = Field(
        description="Blended price: (input + output) / 2 per 1k tokens"
    )
    input_cost_per_1k: Money | None
    output_cost_per_1k: Money | None
    status: HealthState
    reasons: list[str]


class Recommendations(_Out):
    task_type: str | None
    context_length: int
    cost_preference: Preference
    recommended: str | None = Field(description="None when no model's context fits")
    reasons: list[str]
    models: list[RankedEntry]


class UsageRow(_Out):
    id: str
    execution_id: str | None
    node_id: str | None
    model_name: str
    provider: str
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost: Money
    latency_ms: int
    status: str
    error_type: str | None
    attempt: int
    is_fallback: bool
    price_version: str | None
    created_at: datetime


class ExecutionUsage(_Out):
    execution_id: str
    attempts: int
    total_tokens: int
    total_cost: Money
    rows: list[UsageRow]


class ConfigModel(_Out):
    name: str
    provider: str
    source: Literal["file", "override", "file+override"]
    api_key_env: str | None = Field(description="The environment variable holding the key")
    api_key_set: bool = Field(description="Whether that variable is set (never its value)")


class ConfigView(_Out):
    policy_version: str
    policy_source: str
    overrides: dict[str, dict[str, Any]] = Field(
        description="The dynamic model configurations stored in the database"
    )
    models: list[ConfigModel]
    last_refused: str | None = Field(
        description="Why the latest policy change was refused, if it was"
    )


class ErrorMessage(_Out):
    """The body of a 401, 403, 409 or 503."""

    detail: str


class UnknownModelDetail(_Out):
    message: str
    known_models: list[str]


class UnknownModel(_Out):
    """The body of a 404 for a model the policy does not know."""

    detail: UnknownModelDetail


class ConfigErrors(_Out):
    message: str = Field(examples=["invalid model configuration; nothing was changed"])
    errors: list[str] = Field(
        examples=[["overrides.x.provider: missing; name the provider (openai, anthropic, ...)"]]
    )


class ConfigRejected(_Out):
    """The body of a 422 for a refused model configuration."""

    detail: ConfigErrors
