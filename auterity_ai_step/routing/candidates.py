"""Which models a step may try, in which order, and why; plus ``model: auto`` selection.

The chain is the step's model, then its ``fallback_models``, then the policy's
``task_preferences[task_type]``, then its ``fallback_chain``, de-duplicated in that order.
Models that cannot help are dropped before any call, each with the reason: unknown to the
policy, circuit open, or a context window too small for the prompt plus the output.
Money limits are applied by the executor (they need the ledger), not here. Prices come
from the caller's :class:`~auterity_ai_step.money.price_book.PriceBook` (the core passes
the package's one book), so ranking compares the same prices the API shows and the engine
charges.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from auterity_ai_step.errors import PolicyError
from auterity_ai_step.money.prices import money_text

if TYPE_CHECKING:
    from auterity_ai_step.contract.policy import ModelSpec, Policy
    from auterity_ai_step.contract.step import StepConfig
    from auterity_ai_step.money.price_book import PriceBook
    from auterity_ai_step.routing.circuit import CircuitBreaker

__all__ = [
    "Candidate",
    "RankedModel",
    "Recommendation",
    "Skipped",
    "build_chain",
    "output_reserve",
    "rank_models",
    "select_optimal_model",
    "windows_hold",
]

COST_PREFERENCES = ("cheapest", "balanced", "quality")
DEFAULT_OUTPUT_RESERVE = 1024
# Balanced score weights: how well the model suits the task, how cheap, how good.
BALANCED_WEIGHTS = (0.4, 0.3, 0.3)


@dataclass(frozen=True)
class Candidate:
    model: ModelSpec
    reason: str
    is_fallback: bool


@dataclass(frozen=True)
class Skipped:
    model: str
    reason: str


@dataclass(frozen=True)
class RankedModel:
    """One model's standing for a task; ``fits`` is False when its context is too small."""

    model: str
    score: float
    fits: bool
    task_fit: float
    price_per_1k: Decimal | None
    quality: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Recommendation:
    model: str
    reasons: list[str]
    score: float
    ranked: list[RankedModel]


def output_reserve(config: StepConfig, model: ModelSpec) -> int:
    """Output tokens to leave room for: the step's ``max_tokens`` or a modest default."""
    if config.max_tokens is not None:
        return config.max_tokens
    return min(model.max_output_tokens, DEFAULT_OUTPUT_RESERVE)


def windows_hold(config: StepConfig, policy: Policy, prompt_tokens: int) -> bool:
    """Whether every policy model's context window holds the prompt plus the step's output:
    then no count smaller than ``prompt_tokens`` could change which models fit."""
    reserve = config.max_tokens if config.max_tokens is not None else DEFAULT_OUTPUT_RESERVE
    needed = prompt_tokens + reserve
    return all(spec.context_window >= needed for spec in policy.models.values())


def _price_key(price: Decimal | None) -> Decimal:
    return Decimal("Infinity") if price is None else price


def _task_fit(policy: Policy, model: ModelSpec, task_type: str | None) -> tuple[float, str]:
    if not task_type:
        if "general" in model.use_cases:
            return 0.2, "general-purpose model"
        return 0.0, "no task type given"
    preferred = policy.routing.task_preferences.get(task_type, ())
    if model.name in preferred:
        place = preferred.index(model.name)
        return 1.0 - 0.1 * place, f"policy prefers it for {task_type} (#{place + 1})"
    if task_type in model.use_cases or task_type in model.capabilities:
        return 0.6, f"use case {task_type}"
    words = set(task_type.split("_"))
    matched = sorted(
        tag for tag in (*model.use_cases, *model.capabilities) if words & set(tag.split("_"))
    )
    if matched:
        return 0.4, f"use cases/capabilities related to {task_type}: {', '.join(matched)}"
    if "general" in model.use_cases:
        return 0.2, "general-purpose model"
    return 0.0, f"nothing in its use cases matches {task_type}"


def rank_models(
    policy: Policy,
    task_type: str | None = None,
    context_length: int = 0,
    cost_preference: str = "balanced",
    *,
    prices: PriceBook,
) -> list[RankedModel]:
    """Every policy model, best first for ``cost_preference``; models that do not fit last.

    ``cheapest`` orders by blended price (then task fit, then quality), ``quality`` by the
    policy's quality (then task fit, then price) and ``balanced`` by
    ``0.4 * task fit + 0.3 * price rank + 0.3 * quality / 10``, where the price rank runs
    from 1 (cheapest) to 0 (dearest) among the models that fit. Prices are ``prices``'
    blended ones (policy, else its fallback map); a model without a price ranks as the
    dearest.
    """
    specs = list(policy.models.values())
    if cost_preference not in COST_PREFERENCES:
        raise ValueError(f"cost_preference must be one of {', '.join(COST_PREFERENCES)}")
    blended = {spec.name: prices.blended(spec) for spec in specs}
    levels = sorted(
        {_price_key(blended[m.name]) for m in specs if m.context_window >= context_length}
    )
    ranked: list[RankedModel] = []
    for spec in specs:
        price = blended[spec.name]
        task_fit, why_task = _task_fit(policy, spec, task_type)
        reasons = [why_task]
        if spec.context_window < context_length:
            reasons.insert(0, f"context window {spec.context_window} < {context_length} tokens")
            ranked.append(
                RankedModel(spec.name, 0.0, False, task_fit, price, spec.quality, tuple(reasons))
            )
            continue
        position = levels.index(_price_key(price))
        price_score = 1.0 if len(levels) == 1 else 1 - position / (len(levels) - 1)
        shown = "no price" if price is None else f"${money_text(price)}/1k tokens"
        reasons.append(f"price rank {position + 1} of {len(levels)} ({shown})")
        reasons.append(f"quality {spec.quality}/10")
        if context_length:
            reasons.append(f"context window {spec.context_window} fits {context_length} tokens")
        w_task, w_price, w_quality = BALANCED_WEIGHTS
        score = w_task * task_fit + w_price * price_score + w_quality * spec.quality / 10
        ranked.append(
            RankedModel(
                spec.name, round(score, 4), True, task_fit, price, spec.quality, tuple(reasons)
            )
        )

    def key(r: RankedModel) -> tuple[object, ...]:
        price = Decimal("Infinity") if r.price_per_1k is None else r.price_per_1k
        if cost_preference == "cheapest":
            return (not r.fits, price, -r.task_fit, -r.quality)
        if cost_preference == "quality":
            return (not r.fits, -r.quality, -r.task_fit, price)
        return (not r.fits, -r.score, price)

    return sorted(ranked, key=key)


def select_optimal_model(
    policy: Policy,
    task_type: str | None = None,
    context_length: int = 0,
    cost_preference: str = "balanced",
    *,
    prices: PriceBook,
) -> Recommendation:
    """The best model for a task and why; PolicyError when no model's context fits."""
    ranked = rank_models(policy, task_type, context_length, cost_preference, prices=prices)
    best = ranked[0] if ranked else None
    if best is None or not best.fits:
        largest = max((m.context_window for m in policy.models.values()), default=0)
        raise PolicyError(
            f"no model can hold {context_length} tokens (largest context window: {largest})"
        )
    reasons = [f"{cost_preference}: {_headline(best, cost_preference)}", *best.reasons]
    return Recommendation(best.model, reasons, best.score, ranked)


def _headline(best: RankedModel, cost_preference: str) -> str:
    if cost_preference == "cheapest":
        return "lowest price among the models that fit"
    if cost_preference == "quality":
        return "highest quality among the models that fit"
    return f"best blend of task fit, price and quality (score {best.score})"


def _ordered_names(
    config: StepConfig, policy: Policy, auto_pick: Recommendation | None, policy_fallbacks: bool
) -> list[tuple[str, str]]:
    names: list[tuple[str, str]] = []
    if config.model is not None:
        names.append((config.model, "step model"))
    elif auto_pick is not None:
        names.append((auto_pick.model, "auto: " + "; ".join(auto_pick.reasons)))
    else:
        names.append((policy.routing.default_model, "policy default model"))
    names += [(n, f"step fallback_models[{i}]") for i, n in enumerate(config.fallback_models)]
    if not policy_fallbacks:
        return names
    if config.task_type:
        preferred = policy.routing.task_preferences.get(config.task_type, ())
        names += [(n, f"policy task preference for {config.task_type}") for n in preferred]
    names += [(n, "policy fallback_chain") for n in policy.routing.fallback_chain]
    return names


def build_chain(
    config: StepConfig,
    policy: Policy,
    *,
    prompt_tokens: int,
    breaker: CircuitBreaker | None,
    prices: PriceBook,
    use_policy_fallbacks: bool = True,
) -> tuple[list[Candidate], list[Skipped]]:
    """The candidates to try in order, and the models dropped with why.

    With no ``model``, a new-style step lets :func:`select_optimal_model` choose (the
    schema's default is ``auto``); a legacy node uses the policy's ``default_model``, as
    today's service used its default. The open-circuit check reads the state only, so the
    half-open probe is left for the executor's ``breaker.allow()``. With
    ``use_policy_fallbacks=False`` (the caller) or ``policy_fallbacks: false`` (the step)
    only the step's own models are tried. ``prices`` ranks ``model: auto``'s choice.
    """
    skipped: list[Skipped] = []
    auto_pick = _auto_pick(config, policy, prompt_tokens, prices, skipped)
    candidates: list[Candidate] = []
    seen: set[str] = set()
    for position, (name, reason) in enumerate(
        _ordered_names(config, policy, auto_pick, use_policy_fallbacks and config.policy_fallbacks)
    ):
        if name in seen:
            continue
        seen.add(name)
        spec = policy.models.get(name)
        if spec is None:
            skipped.append(Skipped(name, "not a model in the policy"))
            continue
        why_not = _why_dropped(config, spec, prompt_tokens, breaker)
        if why_not is not None:
            skipped.append(Skipped(name, why_not))
            continue
        candidates.append(Candidate(spec, reason, is_fallback=position > 0))
    return candidates, skipped


def _auto_pick(
    config: StepConfig,
    policy: Policy,
    prompt_tokens: int,
    prices: PriceBook,
    skipped: list[Skipped],
) -> Recommendation | None:
    """``model: auto``'s choice for a new-style step with no model; None otherwise, or when
    no model fits (then skipped as "auto", with why)."""
    if config.model is not None or config.legacy:
        return None
    reserve = config.max_tokens if config.max_tokens is not None else DEFAULT_OUTPUT_RESERVE
    try:
        return select_optimal_model(
            policy,
            config.task_type,
            prompt_tokens + reserve,
            config.cost_preference,
            prices=prices,
        )
    except PolicyError as exc:
        skipped.append(Skipped("auto", str(exc)))
        return None


def _why_dropped(
    config: StepConfig, spec: ModelSpec, prompt_tokens: int, breaker: CircuitBreaker | None
) -> str | None:
    """Why a policy model cannot be a candidate (circuit open, context window too small);
    None when it can."""
    if breaker is not None and breaker.state(spec.name) == "open":
        why = breaker.reason(spec.name)
        return f"quarantined: {why}" if why else "circuit open after repeated failures"
    needed = prompt_tokens + output_reserve(config, spec)
    if spec.context_window < needed:
        return (
            f"context window {spec.context_window} < {needed} tokens "
            f"({prompt_tokens} prompt + {needed - prompt_tokens} output)"
        )
    return None
