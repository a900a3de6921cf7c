"""Candidate chains and model selection, on small policies and on the bundled one."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from auterity_ai_step.contract.policy import Policy, load_policy, parse_policy
from auterity_ai_step.contract.step import StepConfig, validate_step_config
from auterity_ai_step.errors import PolicyError
from auterity_ai_step.money.price_book import POLICY_PRICES, PriceBook
from auterity_ai_step.resources import bundled_policy_path
from auterity_ai_step.routing.candidates import (
    build_chain,
    output_reserve,
    rank_models,
    select_optimal_model,
)
from auterity_ai_step.routing.health import CircuitBreaker


def model(
    price: float | None, window: int = 100_000, quality: int = 5, **extra: Any
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "context_window": window,
        "max_output_tokens": 4096,
        "quality": quality,
        **extra,
    }
    if price is not None:
        spec["input_cost_per_1k"] = price
        spec["output_cost_per_1k"] = price
    return spec


def small_policy() -> Policy:
    return parse_policy(
        {
            "models": {
                "openai": {
                    "a": model(0.001, use_cases=["general"]),
                    "b": model(0.002, window=4000),
                    "c": model(0.003, quality=9),
                },
                "ollama": {"d": model(0, window=8000, quality=3)},
            },
            "routing_rules": {
                "default_model": "a",
                "fallback_chain": ["a", "d"],
                "task_preferences": {"summary": ["c", "b"]},
            },
        }
    )


def config(**data: Any) -> StepConfig:
    return validate_step_config(data)


def names(chain: list[Any]) -> list[str]:
    return [c.model.name for c in chain]


def test_chain_order_is_step_then_fallbacks_then_task_then_policy_deduplicated() -> None:
    policy = small_policy()
    step = config(model="b", fallback_models=["c", "b"], task_type="summary")
    chain, skipped = build_chain(step, policy, prompt_tokens=10, breaker=None, prices=POLICY_PRICES)
    assert names(chain) == ["b", "c", "a", "d"]
    assert [c.is_fallback for c in chain] == [False, True, True, True]
    assert chain[0].reason == "step model"
    assert chain[1].reason == "step fallback_models[0]"
    assert chain[2].reason == "policy fallback_chain"
    assert skipped == []


def test_legacy_without_model_uses_policy_default() -> None:
    chain, _ = build_chain(
        config(prompt="x"), small_policy(), prompt_tokens=1, breaker=None, prices=POLICY_PRICES
    )
    assert names(chain) == ["a", "d"]
    assert chain[0].reason == "policy default model"


def test_new_style_without_model_is_auto() -> None:
    step = config(config_version=2, prompt="x", model="auto", cost_preference="quality")
    chain, _ = build_chain(
        step, small_policy(), prompt_tokens=1, breaker=None, prices=POLICY_PRICES
    )
    assert names(chain)[0] == "c"
    assert chain[0].reason.startswith("auto: quality: highest quality")


def test_auto_that_fits_nothing_is_reported() -> None:
    step = config(config_version=2, prompt="x")
    chain, skipped = build_chain(
        step, small_policy(), prompt_tokens=500_000, breaker=None, prices=POLICY_PRICES
    )
    assert chain == []
    assert skipped[0].model == "auto"
    assert "no model can hold" in skipped[0].reason


def test_unknown_open_circuit_and_small_context_are_skipped_with_reasons() -> None:
    policy = small_policy()
    breaker = CircuitBreaker(failure_threshold=1, cooldown_s=60, clock=lambda: 0.0)
    breaker.record_failure("c")
    step = config(model="ghost", fallback_models=["c", "b"], max_tokens=1000)
    chain, skipped = build_chain(
        step, policy, prompt_tokens=3500, breaker=breaker, prices=POLICY_PRICES
    )
    assert names(chain) == ["a", "d"]
    reasons = {s.model: s.reason for s in skipped}
    assert reasons["ghost"] == "not a model in the policy"
    assert reasons["c"] == "circuit open after repeated failures"
    assert reasons["b"] == "context window 4000 < 4500 tokens (3500 prompt + 1000 output)"
    assert chain[0].is_fallback


def test_half_open_circuit_is_kept_and_the_probe_not_consumed() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=1, cooldown_s=10, clock=lambda: now[0])
    breaker.record_failure("a")
    now[0] = 11.0
    chain, _ = build_chain(
        config(model="a"), small_policy(), prompt_tokens=1, breaker=breaker, prices=POLICY_PRICES
    )
    assert names(chain)[0] == "a"
    assert breaker.allow("a") is True


def test_use_policy_fallbacks_false_keeps_only_the_steps_models() -> None:
    step = config(model="b", fallback_models=["c"], task_type="summary")
    chain, _ = build_chain(
        step,
        small_policy(),
        prompt_tokens=1,
        breaker=None,
        use_policy_fallbacks=False,
        prices=POLICY_PRICES,
    )
    assert names(chain) == ["b", "c"]


def test_a_step_with_policy_fallbacks_false_keeps_only_its_own_models() -> None:
    step = config(model="b", fallback_models=["c"], task_type="summary", policy_fallbacks=False)
    chain, _ = build_chain(
        step, small_policy(), prompt_tokens=1, breaker=None, prices=POLICY_PRICES
    )
    assert names(chain) == ["b", "c"]


def test_output_reserve() -> None:
    spec = small_policy().model("a")
    assert output_reserve(config(max_tokens=77), spec) == 77
    assert output_reserve(config(), spec) == 1024
    tiny = spec.model_copy(update={"max_output_tokens": 256})
    assert output_reserve(config(), tiny) == 256


def test_rank_models_explains_and_puts_misfits_last() -> None:
    ranked = rank_models(small_policy(), "summary", context_length=5000, prices=POLICY_PRICES)
    assert ranked[-1].model == "b"
    assert not ranked[-1].fits
    assert ranked[-1].reasons[0] == "context window 4000 < 5000 tokens"
    assert ranked[0].model == "c"  # preferred for the task and best quality
    assert any("policy prefers it for summary (#1)" in r for r in ranked[0].reasons)


def test_cost_preference_changes_the_pick() -> None:
    policy = small_policy()
    assert select_optimal_model(policy, None, 0, "cheapest", prices=POLICY_PRICES).model == "d"
    assert select_optimal_model(policy, None, 0, "quality", prices=POLICY_PRICES).model == "c"
    assert select_optimal_model(policy, None, 9000, "cheapest", prices=POLICY_PRICES).model == "a"


def test_unknown_price_ranks_dearest_and_bad_preference_is_refused() -> None:
    policy = parse_policy(
        {
            "models": {"openai": {"x": model(None), "y": model(0.5)}},
            "routing_rules": {"default_model": "x"},
        }
    )
    ranked = rank_models(policy, None, 0, "cheapest", prices=POLICY_PRICES)
    assert [r.model for r in ranked] == ["y", "x"]
    assert ranked[1].price_per_1k is None
    assert "no price" in ranked[1].reasons[-2]
    with pytest.raises(ValueError, match="cost_preference"):
        rank_models(policy, None, 0, "free", prices=POLICY_PRICES)
    one = parse_policy(
        {"models": {"openai": {"x": model(0.1)}}, "routing_rules": {"default_model": "x"}}
    )
    assert select_optimal_model(one, prices=POLICY_PRICES).score == pytest.approx(
        0.4 * 0 + 0.3 + 0.15
    )


def test_task_fit_levels() -> None:
    policy = parse_policy(
        {
            "models": {
                "openai": {
                    "exact": model(0.1, use_cases=["triage"]),
                    "related": model(0.1, capabilities=["customer_service"]),
                    "general": model(0.1, use_cases=["general"]),
                    "none": model(0.1),
                }
            },
            "routing_rules": {"default_model": "none"},
        }
    )
    fit = {r.model: r.task_fit for r in rank_models(policy, "triage", prices=POLICY_PRICES)}
    assert fit == {"exact": 0.6, "related": 0.0, "general": 0.2, "none": 0.0}
    fit = {
        r.model: r.task_fit for r in rank_models(policy, "customer_inquiry", prices=POLICY_PRICES)
    }
    assert fit["related"] == 0.4


@pytest.fixture(scope="module")
def bundled() -> Policy:
    return load_policy(bundled_policy_path())


@pytest.mark.parametrize(
    "task", ["customer_inquiry", "lead_qualification", "service_recommendation", None]
)
def test_bundled_policy_gives_three_different_explainable_answers(
    bundled: Policy, task: str | None
) -> None:
    picks = {
        pref: select_optimal_model(bundled, task, 2000, pref, prices=POLICY_PRICES)
        for pref in ("cheapest", "balanced", "quality")
    }
    assert len({p.model for p in picks.values()}) == 3
    cheapest = bundled.model(picks["cheapest"].model)
    quality = bundled.model(picks["quality"].model)
    fitting = list(bundled.models.values())
    assert cheapest.input_cost_per_1k == min(m.input_cost_per_1k or Decimal(0) for m in fitting)
    assert quality.quality == max(m.quality for m in fitting)
    for pick in picks.values():
        assert pick.reasons and pick.ranked[0].model == pick.model
    if task:
        assert task in picks["balanced"].reasons[1]


def test_bundled_balanced_prefers_the_task_preference(bundled: Policy) -> None:
    pick = select_optimal_model(bundled, "customer_inquiry", 0, "balanced", prices=POLICY_PRICES)
    assert pick.model == bundled.routing.task_preferences["customer_inquiry"][0]


def test_select_optimal_model_refuses_when_nothing_fits() -> None:
    with pytest.raises(PolicyError, match="largest context window: 100000"):
        select_optimal_model(small_policy(), None, 10**7, prices=POLICY_PRICES)


def test_ranking_reads_the_price_book_it_is_given() -> None:
    """One price truth: a model the policy leaves unpriced ranks by the book's fallback map
    (as the API shows and the engine charges it), and one policy price counts for both."""
    policy = parse_policy(
        {
            "models": {
                "openai": {
                    "mapped": model(None),
                    "one-sided": {**model(None), "input_cost_per_1k": 0.002},
                    "dear": model(0.01),
                }
            },
            "routing_rules": {"default_model": "dear"},
        }
    )
    litellm_map = {"openai/mapped": (Decimal("0.0001"), Decimal("0.0003"))}
    book = PriceBook(lambda spec: litellm_map.get(spec.litellm_model))
    ranked = rank_models(policy, None, 0, "cheapest", prices=book)
    assert [r.model for r in ranked] == ["mapped", "one-sided", "dear"]
    assert ranked[0].price_per_1k == Decimal("0.0002")
    assert ranked[1].price_per_1k == Decimal("0.002")
    assert any("($0.0002/1k tokens)" in reason for reason in ranked[0].reasons)
    assert select_optimal_model(policy, None, 0, "cheapest", prices=book).model == "mapped"
    # The policy's prices alone know nothing of the map: the mapped model ranks dearest.
    alone = rank_models(policy, None, 0, "cheapest", prices=POLICY_PRICES)
    assert [r.model for r in alone] == ["one-sided", "dear", "mapped"]
