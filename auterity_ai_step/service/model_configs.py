"""The original task's model vocabulary: ``ModelProvider`` and ``ModelConfig``.

Views of the policy's models for code written against that task's names; the policy
(``ModelSpec``) stays the one source. Prices are the exact ``Decimal`` per-1k figures, plus
``cost_per_token`` as the float the task names, computed from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from ..contract.policy import ModelSpec, Policy
from ..money.prices import price_for
from ..routing.health import CircuitBreaker

__all__ = ["ModelConfig", "ModelProvider", "model_configs", "model_provider"]

_THOUSAND = Decimal(1000)


class ModelProvider(Enum):
    """The providers the original task names; a policy may use any other LiteLLM one."""

    OPENAI = "openai"
    OLLAMA = "ollama"
    HUGGINGFACE = "huggingface"
    ANTHROPIC = "anthropic"
    COHERE = "cohere"


def model_provider(name: str) -> ModelProvider | str:
    """The enum member for ``name``, or ``name`` itself for a provider the enum lacks."""
    try:
        return ModelProvider(name)
    except ValueError:
        return name


@dataclass
class ModelConfig:
    """One policy model as the original task shapes it.

    ``api_key`` is always ``None``: keys stay in the environment, and ``api_key_env`` names
    the variable. ``is_available`` is the circuit breaker's word (no call is made); use
    ``LiteLLMService.health_check`` for a real check. ``max_tokens`` is the most output
    tokens per answer.
    """

    name: str
    provider: ModelProvider | str
    endpoint: str | None = None
    api_key: str | None = None
    max_tokens: int | None = None
    cost_per_token: float | None = None
    capabilities: list[str] = field(default_factory=list)
    is_available: bool = True
    api_key_env: str | None = None
    context_window: int | None = None
    input_cost_per_1k: Decimal | None = None
    output_cost_per_1k: Decimal | None = None

    @classmethod
    def from_spec(cls, spec: ModelSpec, *, is_available: bool = True) -> ModelConfig:
        price = price_for(spec)
        blended = None if price is None else (price.input_per_1k + price.output_per_1k) / 2
        return cls(
            name=spec.name,
            provider=model_provider(spec.provider),
            endpoint=spec.api_base,
            max_tokens=spec.max_output_tokens,
            cost_per_token=None if blended is None else float(blended / _THOUSAND),
            capabilities=list(spec.capabilities),
            is_available=is_available,
            api_key_env=spec.api_key_env,
            context_window=spec.context_window,
            input_cost_per_1k=None if price is None else price.input_per_1k,
            output_cost_per_1k=None if price is None else price.output_per_1k,
        )


def model_configs(policy: Policy, breaker: CircuitBreaker | None = None) -> list[ModelConfig]:
    """Every policy model, in policy order; unavailable where the breaker's circuit is open."""
    return [
        ModelConfig.from_spec(
            spec, is_available=breaker is None or breaker.state(spec.name) != "open"
        )
        for spec in policy.models.values()
    ]
