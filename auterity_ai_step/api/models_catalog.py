"""The catalog's bodies: every model with prices and health, a health check, and
rankings for a task (pydantic only).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .fields import (
    CIRCUIT,
    HEALTH_STATUS,
    INPUT_PRICE,
    OUTPUT_PRICE,
    Body,
    CircuitState,
    HealthState,
    ModelName,
    Money,
    PolicyVersion,
    Preference,
    ProviderName,
    Quality,
)

__all__ = [
    "AvailableModel",
    "AvailableModels",
    "HealthCheckRequest",
    "HealthCheckResult",
    "RankedEntry",
    "Recommendations",
]


class AvailableModel(Body):
    """One model of the live policy: prices, limits, tags and last known health."""

    name: ModelName
    provider: ProviderName
    input_cost_per_1k: Money | None = Field(description=INPUT_PRICE, examples=["0.00015"])
    output_cost_per_1k: Money | None = Field(description=OUTPUT_PRICE, examples=["0.0006"])
    price_source: Literal["policy", "litellm"] | None = Field(
        description="Where the prices come from: policy (the policy file or a database "
        "override) or litellm (LiteLLM's bundled price map); null when the price is unknown"
    )
    context_window: int = Field(
        description="The most tokens (prompt plus answer) the model holds", examples=[128000]
    )
    max_output_tokens: int = Field(
        description="The most tokens the model may generate in one answer; a step's "
        "max_tokens is capped to it",
        examples=[16384],
    )
    capabilities: list[str] = Field(
        description="The policy's free-form tags of what the model can do; matched against "
        "a task type when models are ranked",
        examples=[["text", "chat", "json"]],
    )
    use_cases: list[str] = Field(
        description="The policy's free-form tags of what the model is good for; matched "
        "against a task type when models are ranked",
        examples=[["general", "customer_service"]],
    )
    quality: Quality
    status: HealthState = Field(description=HEALTH_STATUS)
    circuit: CircuitState = Field(description=CIRCUIT)
    latency_ms: float | None = Field(
        description="Milliseconds the last health check took (for a failed check, until it "
        "failed); null when the model has not been checked",
        examples=[412.5],
    )
    last_checked: datetime | None = Field(
        description="When the last health check ran, ISO 8601 in UTC; null when the model "
        "has not been checked by this process yet"
    )


class AvailableModels(Body):
    """Every model of the live policy."""

    policy_version: PolicyVersion
    default_model: str = Field(
        description="The policy's routing_rules.default_model", examples=["gpt-4o-mini"]
    )
    models: list[AvailableModel] = Field(description="Every model, in the policy's order")


class HealthCheckRequest(BaseModel):
    """The model to check."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"model": "gpt-4o-mini"}]}
    )

    model: str = Field(
        min_length=1,
        max_length=200,
        description="The model's name in the live policy (see GET /api/models/available)",
        examples=["gpt-4o-mini"],
    )


class HealthCheckResult(Body):
    """The outcome of one health check made now."""

    model: str = Field(
        description="The model checked, by its name in the policy", examples=["gpt-4o-mini"]
    )
    status: HealthState = Field(
        description="available (answered within the model's slow_ms), slow (answered, more "
        "slowly) or unavailable (failed, or no answer within the timeout; see error); never "
        "unknown here"
    )
    latency_ms: float | None = Field(
        description="Milliseconds the check took; for a failed check, the time until it "
        "failed or timed out",
        examples=[412.5],
    )
    error: str | None = Field(
        description="Why the model is unavailable (error kind and message, secrets "
        "redacted); null when it answered"
    )
    checked_at: datetime = Field(description="When the check ran, ISO 8601 in UTC")
    circuit: CircuitState = Field(description=CIRCUIT + "; a health check does not change it")


class RankedEntry(Body):
    """One model's place in a ranking, with why."""

    rank: int = Field(
        ge=1,
        description="Position in the ranking, 1 = best; models whose context window is too "
        "small come last",
        examples=[1],
    )
    model: ModelName
    provider: ProviderName
    score: float = Field(
        description="Balanced score from 0 to 1: 0.4 x task fit + 0.3 x price rank + 0.3 x "
        "quality / 10; 0 when the model does not fit. It orders the models only for "
        "cost_preference balanced",
        examples=[0.82],
    )
    fits: bool = Field(
        description="Whether the context window holds context_length tokens; a model that "
        "does not fit ranks last and is never recommended"
    )
    quality: Quality
    estimated_cost_per_1k: Money | None = Field(
        description="Blended price in US dollars per 1,000 tokens: (input + output) / 2; "
        "null when the price is unknown",
        examples=["0.000375"],
    )
    input_cost_per_1k: Money | None = Field(description=INPUT_PRICE, examples=["0.00015"])
    output_cost_per_1k: Money | None = Field(description=OUTPUT_PRICE, examples=["0.0006"])
    status: HealthState = Field(
        description=HEALTH_STATUS + "; an unavailable model is passed over for recommended when "
        "another fits"
    )
    reasons: list[str] = Field(
        description="Why the model ranks where it does: task fit, price rank, quality and "
        "context window, in words",
        examples=[["use case customer_service", "price rank 2 of 8 ($0.000375/1k tokens)"]],
    )


class Recommendations(Body):
    """The models ranked for a task, and the one to use."""

    task_type: str | None = Field(
        description="The task type asked for; null when none was given",
        examples=["customer_inquiry"],
    )
    context_length: int = Field(
        description="Tokens the model must hold, as asked; 0 means no requirement",
        examples=[12000],
    )
    cost_preference: Preference = Field(
        description="How the models are ordered: cheapest (blended price, then task fit, then "
        "quality), balanced (score) or quality (quality, then task fit, then price)"
    )
    recommended: str | None = Field(
        description="The best fitting model not known to be unavailable (the best fitting one "
        "if all are); null when no model's context window holds context_length",
        examples=["gpt-4o-mini"],
    )
    reasons: list[str] = Field(
        description="Why recommended was chosen; when it is null, why no model fits"
    )
    models: list[RankedEntry] = Field(description="Every model of the live policy, best first")
