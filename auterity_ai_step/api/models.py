"""The model management API's request and response bodies (pydantic only, no FastAPI).

Money is a non-negative decimal string of US dollars (``"0.00015"``), never a float, so no
rounding creeps in between the ledger and a dashboard; a percentage is a decimal string from
0 to 100 (``"80"``); times are ISO 8601 in UTC. Nothing here can hold a secret: the
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
        pattern=r"^[0-9]+(\.[0-9]+)?$",
        description="US dollars as an exact, non-negative decimal string (no exponent)",
    ),
]
Percent = Annotated[
    str,
    Field(
        pattern=r"^(100(\.0+)?|[0-9]{1,2}(\.[0-9]+)?)$",
        description="A percentage from 0 to 100 as an exact decimal string",
    ),
]
Preference = Literal["cheapest", "balanced", "quality"]
HealthState = Literal["available", "slow", "unavailable", "unknown"]
CircuitState = Literal["closed", "open", "half_open"]

_MODEL_NAME = (
    "The model's name: its key in the policy, as steps, routing rules and the ledger use it"
)
_PROVIDER = (
    "The model's provider: openai, anthropic, ollama, huggingface or another LiteLLM provider"
)
_STATUS = (
    "Last known health, without calling the model: available (the last check answered within "
    "the model's slow_ms), slow (it answered, more slowly), unavailable (the last check failed "
    "or the circuit is open), unknown (not checked by this process yet)"
)
_CIRCUIT = (
    "The circuit breaker's state from real traffic in this process: closed (calls go through), "
    "open (skipped after repeated failures until the cooldown ends), half_open (one trial call "
    "is let through)"
)
_INPUT_PRICE = (
    "US dollars per 1,000 input (prompt) tokens, from the policy or else LiteLLM's bundled "
    "price map; null when neither knows the price (the model is then refused under any cost "
    "limit or daily budget, and without one runs with its usage recorded at $0)"
)
_OUTPUT_PRICE = (
    "US dollars per 1,000 output (completion) tokens, from the policy or else LiteLLM's "
    "bundled price map; null when neither knows the price"
)
_QUALITY = (
    "Answer quality from 1 (lowest) to 10, from the policy (derived from the price when the "
    "policy gives none); weighed against price when models are ranked"
)
_POLICY_VERSION = (
    "Content hash (12 hex digits) of the live policy, database overrides included; it changes "
    "whenever the policy does and is recorded with each attempt as price_version"
)


def money(amount: Decimal) -> str:
    """A Decimal as a plain decimal string: no exponent, no trailing zeros."""
    text = format(amount.normalize(), "f")
    return "0" if text in ("-0", "") else text


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class AvailableModel(_Out):
    """One model of the live policy: prices, limits, tags and last known health."""

    name: str = Field(description=_MODEL_NAME, examples=["gpt-4o-mini"])
    provider: str = Field(description=_PROVIDER, examples=["openai"])
    input_cost_per_1k: Money | None = Field(description=_INPUT_PRICE, examples=["0.00015"])
    output_cost_per_1k: Money | None = Field(description=_OUTPUT_PRICE, examples=["0.0006"])
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
    quality: int = Field(ge=1, le=10, description=_QUALITY, examples=[6])
    status: HealthState = Field(description=_STATUS)
    circuit: CircuitState = Field(description=_CIRCUIT)
    latency_ms: float | None = Field(
        description="Milliseconds the last health check took (for a failed check, until it "
        "failed); null when the model has not been checked",
        examples=[412.5],
    )
    last_checked: datetime | None = Field(
        description="When the last health check ran, ISO 8601 in UTC; null when the model "
        "has not been checked by this process yet"
    )


class AvailableModels(_Out):
    """Every model of the live policy."""

    policy_version: str = Field(description=_POLICY_VERSION, examples=["3f9a0c1b2d4e"])
    default_model: str = Field(
        description="The policy's routing_rules.default_model", examples=["gpt-4o-mini"]
    )
    models: list[AvailableModel] = Field(description="Every model, in the policy's order")


class ModelUsageTotals(_Out):
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
    total_tokens: int = Field(description="prompt_tokens plus completion_tokens")
    cost: Money = Field(description="What those attempts cost, in US dollars", examples=["0.0125"])


class DayUsage(_Out):
    """The totals of one UTC calendar day."""

    day: str = Field(
        description="The UTC calendar day (YYYY-MM-DD) the attempts were recorded on",
        examples=["2025-01-31"],
    )
    calls: int = Field(
        description="Attempts recorded that day (every retry and fallback call counts as one)"
    )
    errors: int = Field(description="Of those, attempts that failed (status error)")
    prompt_tokens: int = Field(description="Input (prompt) tokens of that day's attempts")
    completion_tokens: int = Field(description="Output (completion) tokens of that day's attempts")
    total_tokens: int = Field(description="prompt_tokens plus completion_tokens")
    cost: Money = Field(description="What that day's attempts cost, in US dollars")


class BudgetFigures(_Out):
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


class UsageReport(_Out):
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
    errors: int = Field(description="Of those, attempts that failed (status error)")
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


class HealthCheckResult(_Out):
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
    circuit: CircuitState = Field(description=_CIRCUIT + "; a health check does not change it")


class RankedEntry(_Out):
    """One model's place in a ranking, with why."""

    rank: int = Field(
        ge=1,
        description="Position in the ranking, 1 = best; models whose context window is too "
        "small come last",
        examples=[1],
    )
    model: str = Field(description=_MODEL_NAME, examples=["gpt-4o-mini"])
    provider: str = Field(description=_PROVIDER, examples=["openai"])
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
    quality: int = Field(ge=1, le=10, description=_QUALITY, examples=[6])
    estimated_cost_per_1k: Money | None = Field(
        description="Blended price in US dollars per 1,000 tokens: (input + output) / 2; "
        "null when the price is unknown",
        examples=["0.000375"],
    )
    input_cost_per_1k: Money | None = Field(description=_INPUT_PRICE, examples=["0.00015"])
    output_cost_per_1k: Money | None = Field(description=_OUTPUT_PRICE, examples=["0.0006"])
    status: HealthState = Field(
        description=_STATUS + "; an unavailable model is passed over for recommended when "
        "another fits"
    )
    reasons: list[str] = Field(
        description="Why the model ranks where it does: task fit, price rank, quality and "
        "context window, in words",
        examples=[["use case customer_service", "price rank 2 of 8 ($0.000375/1k tokens)"]],
    )


class Recommendations(_Out):
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


class UsageRow(_Out):
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
    total_tokens: int = Field(description="prompt_tokens plus completion_tokens")
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


class ExecutionUsage(_Out):
    """Every attempt recorded against one workflow execution, with totals."""

    execution_id: str = Field(description="The execution asked for", examples=["exec-9"])
    attempts: int = Field(description="How many attempts are recorded for it; 0 when none")
    total_tokens: int = Field(description="Input plus output tokens of all its attempts")
    total_cost: Money = Field(
        description="What all its attempts cost, in US dollars", examples=["0.0375453"]
    )
    rows: list[UsageRow] = Field(description="Its attempts, oldest first; empty when none")


class ConfigModel(_Out):
    """One live model: where its settings come from and which key variable it reads."""

    name: str = Field(description=_MODEL_NAME, examples=["gpt-4o-mini"])
    provider: str = Field(description=_PROVIDER, examples=["openai"])
    source: Literal["file", "override", "file+override"] = Field(
        description="Where the settings come from: file (the policy file only), override (a "
        "model added in the database), file+override (a file model with database settings "
        "over it)"
    )
    api_key_env: str | None = Field(
        description="NAME of the environment variable the model reads its API key from, "
        "never the key; null when the model sends no key (e.g. a local Ollama model)",
        examples=["OPENAI_API_KEY"],
    )
    api_key_set: bool = Field(
        description="Whether that variable is set and not empty in the server's environment "
        "(never its value); false when api_key_env is null"
    )


class ConfigView(_Out):
    """The dynamic model configurations and, per live model, its key variable."""

    policy_version: str = Field(description=_POLICY_VERSION, examples=["3f9a0c1b2d4e"])
    policy_source: str = Field(
        description="Where the live policy was read from: the policy file's path, or "
        "<memory> for a policy not read from a file",
        examples=["/etc/auterity/model_policies.yml"],
    )
    overrides: dict[str, dict[str, Any]] = Field(
        description="The dynamic model configurations stored in the database: model name to "
        "settings in the policy file's model form (secret-named keys left out)"
    )
    models: list[ConfigModel] = Field(description="Every model of the live policy")
    last_refused: str | None = Field(
        description="Why the latest policy change (file edit or stored configurations) was "
        "refused, the previous policy staying live; null when the latest change loaded"
    )


class ErrorMessage(_Out):
    """The body of a 400, 401, 403, 409 or 503."""

    detail: str = Field(description="What went wrong and what to do (secrets redacted)")


class UnknownModelDetail(_Out):
    """The model name that was not found, and the ones that exist."""

    message: str = Field(
        description="The unknown name and the known ones, in words",
        examples=["unknown model 'gpt-5' (known: gpt-4o-mini, gpt-4o)"],
    )
    known_models: list[str] = Field(
        description="Every model name of the live policy, in the policy's order",
        examples=[["gpt-4o-mini", "gpt-4o"]],
    )


class UnknownModel(_Out):
    """The body of a 404 for a model the policy does not know."""

    detail: UnknownModelDetail = Field(description="The unknown name and the known ones")


class ConfigErrors(_Out):
    """Why a model configuration was refused."""

    message: str = Field(
        description="Always this text: nothing was written",
        examples=["invalid model configuration; nothing was changed"],
    )
    errors: list[str] = Field(
        description="One line per problem: the setting's path (models.… for a model in the "
        "policy file, overrides.… for a new one), the reason and the fix; secrets redacted",
        examples=[["overrides.x.provider: missing; name the provider (openai, anthropic, ...)"]],
    )


class ConfigRejected(_Out):
    """The body of a 422 for a refused model configuration."""

    detail: ConfigErrors = Field(description="The refusal and each error")
