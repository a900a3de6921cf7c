"""The policy file format's vocabulary: keys, aliases, provider defaults, derived quality.

Public so the policy reference page is generated from it (``docgen/reference_policy.py``);
the parser (:mod:`.policy_parse`) and the model-entry reader (:mod:`.policy_entries`) use
it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType

from pydantic import BaseModel

from .policy_model import CircuitSettings, CostControls, ModelSpec, RetrySettings, RoutingRules

__all__ = [
    "HEALTH_KEY",
    "HEALTH_KEYS",
    "LITELLM_PREFIX",
    "MAX_OUTPUT_TOKENS_DEFAULT_CAP",
    "MODEL_ALIASES",
    "PROVIDER_KEY_ENV",
    "QUALITY_FREE",
    "QUALITY_TIERS",
    "QUALITY_TOP",
    "QUALITY_UNPRICED",
    "SECTION_MODELS",
    "TOP_LEVEL_KEYS",
    "derive_quality",
]

#: Provider -> LiteLLM prefix of the default ``litellm_model`` (``<prefix>/<model name>``);
#: another provider's name is its own prefix.
LITELLM_PREFIX: Mapping[str, str] = MappingProxyType(
    {
        "openai": "openai",
        "anthropic": "anthropic",
        "ollama": "ollama_chat",
        "huggingface": "huggingface",
        "cohere": "cohere_chat",
    }
)
#: Provider -> default ``api_key_env``; a provider not listed (e.g. ollama) sends no key.
PROVIDER_KEY_ENV: Mapping[str, str] = MappingProxyType(
    {
        "openai": "OPENAI_API_KEY",
        "anthropic": "ANTHROPIC_API_KEY",
        "huggingface": "HUGGINGFACE_API_KEY",
        "cohere": "COHERE_API_KEY",
    }
)
#: The model-entry key whose mapping holds the :data:`HEALTH_KEYS`.
HEALTH_KEY = "health"
#: ``health:`` sub-key of a model entry -> the ModelSpec field it sets.
HEALTH_KEYS: Mapping[str, str] = MappingProxyType(
    {"timeout_s": "health_timeout_s", "slow_ms": "slow_ms"}
)
#: Alias keys of a model entry: ``(alias, field it sets, ...)``.
MODEL_ALIASES: tuple[tuple[str, ...], ...] = (
    ("cost_per_1k_tokens", "input_cost_per_1k", "output_cost_per_1k"),
    ("max_tokens", "context_window"),
    ("endpoint", "api_base"),
)
#: Without ``max_output_tokens`` a model gets ``min(context_window, this)``.
MAX_OUTPUT_TOKENS_DEFAULT_CAP = 4096
#: :func:`derive_quality`'s tiers: (blended price per 1k tokens below which, quality).
QUALITY_TIERS: tuple[tuple[Decimal, int], ...] = (
    (Decimal("0.0005"), 5),
    (Decimal("0.002"), 6),
    (Decimal("0.01"), 7),
    (Decimal("0.03"), 8),
)
QUALITY_FREE = 3  #: derived quality of a free (blended price 0) model
QUALITY_TOP = 9  #: derived quality at or above the last tier's bound
QUALITY_UNPRICED = 5  #: derived quality of a model without both prices
#: Top-level key -> the model its content is validated into (``models``: one per entry).
SECTION_MODELS: Mapping[str, type[BaseModel]] = MappingProxyType(
    {
        "models": ModelSpec,
        "routing_rules": RoutingRules,
        "cost_controls": CostControls,
        "retry": RetrySettings,
        "circuit": CircuitSettings,
    }
)
TOP_LEVEL_KEYS: tuple[str, ...] = tuple(SECTION_MODELS)


def derive_quality(input_cost: Decimal | None, output_cost: Decimal | None) -> int:
    """Default ``quality`` (1..10) when a model entry gives none.

    Price is the only signal a policy always has, so the blended price per 1k tokens
    ((input + output) / 2) picks a tier: free (local) 3, under $0.0005 5, under $0.002 6,
    under $0.01 7, under $0.03 8, else 9. Unpriced models get the middle, 5.
    """
    if input_cost is None or output_cost is None:
        return QUALITY_UNPRICED
    blended = (input_cost + output_cost) / 2
    if blended == 0:
        return QUALITY_FREE
    for bound, quality in QUALITY_TIERS:
        if blended < bound:
            return quality
    return QUALITY_TOP
