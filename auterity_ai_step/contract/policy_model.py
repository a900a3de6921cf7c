"""The typed, frozen model policy: what each model is, costs and is good for.

Built only by :func:`auterity_ai_step.contract.policy.parse_policy`, which validates once
so nothing downstream sees a raw dict. Money is Decimal (US dollars per 1,000 tokens).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..errors import PolicyError

__all__ = [
    "CircuitSettings",
    "CostControls",
    "ModelSpec",
    "Policy",
    "PolicySource",
    "RetrySettings",
    "RoutingRules",
    "check_timezone",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


def check_timezone(name: str) -> str:
    """``name`` if it is an IANA time zone this host can load; ValueError otherwise.

    The zone database is the system's, else the ``tzdata`` package (a dependency, for hosts
    without one: Windows, slim containers).
    """
    try:
        ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # not found; not a key; a directory such as Etc
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name such as UTC or America/Chicago)"
        ) from None
    return name


class ModelSpec(BaseModel):
    """One runnable model: how to call it, what it costs, what it is good for."""

    model_config = _FROZEN

    name: str = Field(
        min_length=1,
        description="The model's name: its key in the policy, used by steps, routing rules "
        "and the usage ledger.",
    )
    provider: str = Field(
        min_length=1,
        description="The provider (openai, anthropic, ollama, huggingface, or another LiteLLM "
        "provider); in the grouped form the group's key.",
    )
    litellm_model: str = Field(
        min_length=1,
        description="The model string LiteLLM is called with, e.g. openai/gpt-4o-mini.",
    )
    input_cost_per_1k: Decimal | None = Field(
        default=None,
        ge=0,
        description="Price of input (prompt) tokens in USD per 1,000 tokens. If only one of "
        "the two prices is given it counts for both; if neither, LiteLLM's price map is used. "
        "A model with no price in either is refused whenever a cost limit or daily budget "
        "applies (its cost cannot be shown to fit); with none of them set it runs, its usage "
        "is recorded at $0, and a warning naming it is logged once per process.",
    )
    output_cost_per_1k: Decimal | None = Field(
        default=None,
        ge=0,
        description="Price of output (completion) tokens in USD per 1,000 tokens.",
    )
    context_window: int = Field(
        ge=1, description="The most tokens (prompt plus answer) the model holds."
    )
    max_output_tokens: int = Field(
        ge=1,
        description="The most tokens the model may generate in one answer; a step's "
        "max_tokens is capped to it.",
    )
    capabilities: tuple[str, ...] = Field(
        default=(),
        description="Free-form tags of what the model can do (e.g. text, chat, json); "
        "matched against a task type when ranking models.",
    )
    use_cases: tuple[str, ...] = Field(
        default=(),
        description="Free-form tags of what the model is good for (e.g. general, "
        "customer_service); matched against a task type when ranking models.",
    )
    quality: int = Field(
        ge=1,
        le=10,
        description="Answer quality from 1 (lowest) to 10, weighed against price when "
        "models are ranked.",
    )
    api_base: str | None = Field(
        default=None,
        description="Base URL of the provider's endpoint, e.g. a local Ollama server: an "
        "http:// or https:// URL; unset means the provider's default. A stored configuration "
        "(the API's PUT /config) may only use a file model's base or one in "
        "AUTERITY_AI_ALLOWED_API_BASES.",
    )
    api_key_env: str | None = Field(
        default=None,
        description="NAME of the environment variable holding the API key, never the key. "
        "Defaults per provider (see below); null means the server needs no key: a fixed "
        "placeholder is sent, never another provider's key from the environment. A stored "
        "configuration may only name a file model's variable or one in "
        "AUTERITY_AI_ALLOWED_KEY_ENVS.",
    )
    # 4.5 s plus the checks' own slack keeps a whole check_all() inside the 5 s promise.
    health_timeout_s: float = Field(
        default=4.5,
        gt=0,
        description="Seconds a health check may take before the model counts as unavailable.",
    )
    slow_ms: float = Field(
        default=2000.0,
        gt=0,
        description="Health-check latency in milliseconds above which the model counts as slow.",
    )


class RoutingRules(BaseModel):
    """Which model runs by default, what to fall back to, and per-task preferences."""

    model_config = _FROZEN

    default_model: str = Field(
        description="The model a legacy node without a model runs (a version-2 step "
        "without one lets the policy rank the models instead)."
    )
    fallback_chain: tuple[str, ...] = Field(
        default=(),
        description="Models tried, in this order, after the step's own models and its task "
        "type's preferences.",
    )
    task_preferences: Mapping[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="Task type to its preferred models, best first: ranked first for that "
        "task and tried after the step's own fallback_models.",
    )


class CostControls(BaseModel):
    """Policy-wide money limits; ``alert_threshold`` is a percentage of the daily budget."""

    model_config = _FROZEN

    daily_budget: Decimal | None = Field(
        default=None,
        ge=0,
        description="The most all steps together may spend per day, in USD; unset means "
        "no daily budget.",
    )
    per_request_limit: Decimal | None = Field(
        default=None,
        ge=0,
        description="The most one attempt (one model call) may cost at worst, in USD; "
        "unset means no limit.",
    )
    alert_threshold: Decimal = Field(
        default=Decimal(80),
        ge=0,
        le=100,
        description="Percent of daily_budget at which the daily alert fires (once a day).",
    )
    timezone: str = Field(
        default="UTC",
        description="IANA time zone whose calendar day the daily budget counts, e.g. "
        "Europe/Berlin; an unknown name is refused when the policy is read.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return check_timezone(value)


class RetrySettings(BaseModel):
    """How the single retry layer (tenacity) treats transient errors."""

    model_config = _FROZEN

    max_attempts_per_model: int = Field(
        default=3,
        ge=1,
        description="Calls to one model (the first plus retries) before moving to the next, "
        "when a transient error is retried on the same model (see fallback_first).",
    )
    fallback_first: bool = Field(
        default=True,
        description="Whether a transient error (429, timeout, refused connection, 5xx) moves "
        "to the next candidate at once when one fits (circuit not open, worst case inside "
        "the limits); the failed model gets its retry later through its circuit's half-open "
        "probe. Same-model retries with backoff are kept for when no other candidate fits. "
        "false: retry the same model first, up to max_attempts_per_model.",
    )
    initial_backoff_s: float = Field(
        default=0.2,
        ge=0,
        description="Seconds of backoff before the first retry; doubles each retry, with jitter.",
    )
    max_backoff_s: float = Field(
        default=2.0, ge=0, description="The longest backoff between retries, in seconds."
    )
    retry_after_cap_s: float = Field(
        default=5.0,
        ge=0,
        description="Seconds of a provider's Retry-After still waited for; a longer one "
        "moves to the next model at once.",
    )
    step_time_budget_s: float = Field(
        default=60.0,
        gt=0,
        description="Seconds a whole step may take over all its models and retries.",
    )
    fallback_on_content_refusal: bool = Field(
        default=False,
        description="Whether a content refusal moves on to the next model (false: the step fails).",
    )


class CircuitSettings(BaseModel):
    """Passive circuit breaking: N consecutive failures open a model for a cooldown."""

    model_config = _FROZEN

    failure_threshold: int = Field(
        default=3,
        ge=1,
        description="Consecutive failures that open a model's circuit (it is then skipped).",
    )
    cooldown_s: float = Field(
        default=30.0,
        ge=0,
        description="Seconds a circuit stays open before one probe call may try the model.",
    )


class Policy(BaseModel):
    """A validated, frozen model policy; ``version`` is a short hash of its content."""

    model_config = _FROZEN

    models: Mapping[str, ModelSpec] = Field(description="Every model, by name.")
    routing: RoutingRules = Field(description="The routing_rules section.")
    cost_controls: CostControls = Field(
        default=CostControls(), description="The cost_controls section."
    )
    retry: RetrySettings = Field(default=RetrySettings(), description="The retry section.")
    circuit: CircuitSettings = Field(default=CircuitSettings(), description="The circuit section.")
    version: str = Field(description="Short hash of the validated content; changes with it.")
    source: str = Field(default="<memory>", description="Where the policy was read from.")

    def model(self, name: str) -> ModelSpec:
        """The model called ``name``; a PolicyError lists the known ones otherwise."""
        try:
            return self.models[name]
        except KeyError:
            raise PolicyError(f"unknown model {name!r} (known: {', '.join(self.models)})") from None

    @property
    def model_names(self) -> tuple[str, ...]:
        return tuple(self.models)


class PolicySource(Protocol):
    """Anything that hands out the policy in force now (``core.policy_source.PolicyStore``).

    Routing and money take this rather than the store itself, so the pure layers never
    import the hot-reloader.
    """

    def current(self) -> Policy:
        """The policy in force now."""
        ...
