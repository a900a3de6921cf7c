"""What every API body is made of: money and percentages as exact decimal strings, the
model's health vocabulary, and the field descriptions bodies share (pydantic only).

Money is a non-negative decimal string of US dollars (``"0.00015"``), never a float, so no
rounding creeps in between the ledger and a dashboard; a percentage is a decimal string from
0 to 100 (``"80"``); times are ISO 8601 in UTC.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..money.prices import money_text

__all__ = [
    "CIRCUIT",
    "HEALTH_STATUS",
    "INPUT_PRICE",
    "MODEL_NAME",
    "OUTPUT_PRICE",
    "POLICY_VERSION",
    "PROVIDER",
    "QUALITY",
    "Body",
    "CircuitState",
    "FailedAttempts",
    "HealthState",
    "ModelName",
    "Money",
    "Percent",
    "PolicyVersion",
    "Preference",
    "ProviderName",
    "Quality",
    "StepConfigObject",
    "TotalTokens",
    "WindowDays",
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

MODEL_NAME = (
    "The model's name: its key in the policy, as steps, routing rules and the ledger use it"
)
PROVIDER = (
    "The model's provider: openai, anthropic, ollama, huggingface or another LiteLLM provider"
)
HEALTH_STATUS = (
    "Last known health, without calling the model: available (the last check answered within "
    "the model's slow_ms), slow (it answered, more slowly), unavailable (the last check failed "
    "or the circuit is open), unknown (not checked by this process yet)"
)
CIRCUIT = (
    "The circuit breaker's state from real traffic in this process: closed (calls go through), "
    "open (skipped after repeated failures until the cooldown ends), half_open (one trial call "
    "is let through)"
)
INPUT_PRICE = (
    "US dollars per 1,000 input (prompt) tokens, from the policy or else LiteLLM's bundled "
    "price map; null when neither knows the price (the model is then refused under any cost "
    "limit or daily budget, and without one runs with its usage recorded at $0)"
)
OUTPUT_PRICE = (
    "US dollars per 1,000 output (completion) tokens, from the policy or else LiteLLM's "
    "bundled price map; null when neither knows the price"
)
QUALITY = (
    "Answer quality from 1 (lowest) to 10, from the policy (derived from the price when the "
    "policy gives none); weighed against price when models are ranked"
)
POLICY_VERSION = (
    "Content hash (12 hex digits) of the live policy, database overrides included; it changes "
    "whenever the policy does and is recorded with each attempt as price_version"
)


ModelName = Annotated[str, Field(description=MODEL_NAME, examples=["gpt-4o-mini"])]
ProviderName = Annotated[str, Field(description=PROVIDER, examples=["openai"])]
PolicyVersion = Annotated[str, Field(description=POLICY_VERSION, examples=["3f9a0c1b2d4e"])]
Quality = Annotated[int, Field(ge=1, le=10, description=QUALITY, examples=[6])]
StepConfigObject = Annotated[dict[str, Any], Field(description="The step config object")]
FailedAttempts = Annotated[int, Field(description="Of those, attempts that failed (status error)")]
TotalTokens = Annotated[int, Field(description="prompt_tokens plus completion_tokens")]
WindowDays = Annotated[int, Field(description="Days covered: today (UTC) and the days before it")]


money = money_text
"""A Decimal as a plain decimal string: no exponent, no trailing zeros (money's one
formatter, :func:`~auterity_ai_step.money.prices.money_text`)."""


class Body(BaseModel):
    """A response body: frozen, so a route cannot change it after it is built."""

    model_config = ConfigDict(frozen=True)
