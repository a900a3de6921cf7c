"""A step's routing knobs as the ledger keeps them, and back: what ``whatif`` routes again.

The engine writes :func:`routing_of` and :func:`config_hash` on every attempt row; the
replay turns a row back into the :class:`StepConfig` that :func:`build_chain` needs with
:func:`config_from_routing`. Only routing fields travel: no prompt text is stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from ..contract.step import StepConfig

__all__ = ["config_from_routing", "config_hash", "routing_of"]

_PREFERENCES = ("cheapest", "balanced", "quality")


def routing_of(
    config: StepConfig, prompt_tokens: int, use_policy_fallbacks: bool
) -> dict[str, Any]:
    """The JSON the ledger keeps in ``model_usage.routing`` for one run of a step."""
    return {
        "model": config.model,
        "fallback_models": list(config.fallback_models),
        "policy_fallbacks": config.policy_fallbacks and use_policy_fallbacks,
        "max_tokens": config.max_tokens,
        "cost_limit": None if config.cost_limit is None else str(config.cost_limit),
        "legacy": config.legacy,
        "prompt_tokens": prompt_tokens,
    }


def config_hash(config: StepConfig) -> str:
    """A short SHA-256 of the whole step config: rows of one config share it."""
    blob = json.dumps(config.to_data(), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def config_from_routing(
    routing: Mapping[str, Any] | None,
    *,
    first_model: str,
    task_type: str | None,
    cost_preference: str | None,
) -> StepConfig:
    """The routing part of a recorded step's config.

    A row written before revision 0004 (``routing`` None) has only the model its first
    attempt went to: the step is replayed as if it had named that model and nothing else.
    """
    preference = cost_preference if cost_preference in _PREFERENCES else "balanced"
    if routing is None:
        return StepConfig(model=first_model, task_type=task_type, cost_preference=preference)
    return StepConfig(
        legacy=bool(routing.get("legacy", False)),
        model=routing.get("model"),
        fallback_models=tuple(routing.get("fallback_models") or ()),
        policy_fallbacks=bool(routing.get("policy_fallbacks", True)),
        max_tokens=routing.get("max_tokens"),
        cost_limit=_decimal(routing.get("cost_limit")),
        task_type=task_type,
        cost_preference=preference,
    )


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None
