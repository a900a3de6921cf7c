"""The typed, frozen model policy: what each model is, costs and is good for.

Built only by :func:`auterity_ai_step.contract.policy.parse_policy`, which validates once
so nothing downstream sees a raw dict. Money is Decimal (US dollars per 1,000 tokens).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from ..errors import PolicyError

__all__ = [
    "CircuitSettings",
    "CostControls",
    "ModelSpec",
    "Policy",
    "RetrySettings",
    "RoutingRules",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class ModelSpec(BaseModel):
    """One runnable model: how to call it, what it costs, what it is good for."""

    model_config = _FROZEN

    name: str = Field(min_length=1)
    provider: str = Field(min_length=1)
    litellm_model: str = Field(min_length=1)
    input_cost_per_1k: Decimal | None = Field(default=None, ge=0)
    output_cost_per_1k: Decimal | None = Field(default=None, ge=0)
    context_window: int = Field(ge=1)
    max_output_tokens: int = Field(ge=1)
    capabilities: tuple[str, ...] = ()
    use_cases: tuple[str, ...] = ()
    quality: int = Field(ge=1, le=10)
    api_base: str | None = None
    api_key_env: str | None = None
    # 4.5 s plus the checks' own slack keeps a whole check_all() inside the 5 s promise.
    health_timeout_s: float = Field(default=4.5, gt=0)
    slow_ms: float = Field(default=2000.0, gt=0)


class RoutingRules(BaseModel):
    """Which model runs by default, what to fall back to, and per-task preferences."""

    model_config = _FROZEN

    default_model: str
    fallback_chain: tuple[str, ...] = ()
    task_preferences: Mapping[str, tuple[str, ...]] = Field(default_factory=dict)


class CostControls(BaseModel):
    """Policy-wide money limits; ``alert_threshold`` is a percentage of the daily budget."""

    model_config = _FROZEN

    daily_budget: Decimal | None = Field(default=None, ge=0)
    per_request_limit: Decimal | None = Field(default=None, ge=0)
    alert_threshold: Decimal = Field(default=Decimal(80), ge=0, le=100)
    timezone: str = "UTC"


class RetrySettings(BaseModel):
    """How the single retry layer (tenacity) treats transient errors."""

    model_config = _FROZEN

    max_attempts_per_model: int = Field(default=3, ge=1)
    initial_backoff_s: float = Field(default=0.2, ge=0)
    max_backoff_s: float = Field(default=2.0, ge=0)
    retry_after_cap_s: float = Field(default=5.0, ge=0)
    step_time_budget_s: float = Field(default=60.0, gt=0)
    fallback_on_content_refusal: bool = False


class CircuitSettings(BaseModel):
    """Passive circuit breaking: N consecutive failures open a model for a cooldown."""

    model_config = _FROZEN

    failure_threshold: int = Field(default=3, ge=1)
    cooldown_s: float = Field(default=30.0, ge=0)


class Policy(BaseModel):
    """A validated, frozen model policy; ``version`` is a short hash of its content."""

    model_config = _FROZEN

    models: Mapping[str, ModelSpec]
    routing: RoutingRules
    cost_controls: CostControls = CostControls()
    retry: RetrySettings = RetrySettings()
    circuit: CircuitSettings = CircuitSettings()
    version: str
    source: str = "<memory>"

    def model(self, name: str) -> ModelSpec:
        """The model called ``name``; a PolicyError lists the known ones otherwise."""
        try:
            return self.models[name]
        except KeyError:
            raise PolicyError(f"unknown model {name!r} (known: {', '.join(self.models)})") from None

    @property
    def model_names(self) -> tuple[str, ...]:
        return tuple(self.models)
