"""The plan shared by run, estimate and what-if: pure, from a policy, a step and a token count."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

from auterity_ai_step.contract.policy import Policy, parse_policy
from auterity_ai_step.contract.step import StepConfig, validate_step_config
from auterity_ai_step.core.plan import plan_step, size_attempt
from auterity_ai_step.core.run_types import billable_prompt_tokens
from auterity_ai_step.errors import LimitExceeded
from auterity_ai_step.money.limits import StepAllowance
from auterity_ai_step.money.price_book import POLICY_PRICES, PriceBook
from auterity_ai_step.routing.health import CircuitBreaker


def policy(per_request: str | None = None) -> Policy:
    def model(price: str | None, **extra: Any) -> dict[str, Any]:
        spec: dict[str, Any] = {"context_window": 8000, "max_output_tokens": 2000, **extra}
        if price is not None:
            spec["input_cost_per_1k"] = spec["output_cost_per_1k"] = price
        return spec

    controls = {} if per_request is None else {"per_request_limit": per_request}
    return parse_policy(
        {
            "models": {
                "openai": {
                    "cheap": model("0.001"),
                    "dear": model("0.1"),
                    "mapped": model(None),
                    "tiny": model("0.001", context_window=590),
                }
            },
            "routing_rules": {"default_model": "cheap", "fallback_chain": ["dear", "mapped"]},
            "cost_controls": controls,
        }
    )


def config(**data: Any) -> StepConfig:
    return validate_step_config({"prompt": "hi", "model": "cheap", **data})


def test_candidates_in_order_each_sized_as_a_first_attempt() -> None:
    plan = plan_step(
        policy(), config(max_tokens=100, fallback_models=["tiny"]), 500, prices=POLICY_PRICES
    )
    billed = billable_prompt_tokens(500)
    assert plan.prompt_tokens == 500 and plan.billed_prompt_tokens == billed
    assert [p.model.name for p in plan.candidates] == ["cheap", "dear", "mapped"]
    assert [s.model for s in plan.skipped] == ["tiny"]  # 590 < 500 prompt + 100 output
    cheap, dear, mapped = plan.candidates
    assert cheap.max_tokens == 100
    assert cheap.worst_case == (billed + 100) * D("0.001") / 1000
    assert dear.worst_case == (billed + 100) * D("0.1") / 1000
    assert mapped.price is None and mapped.worst_case is None and mapped.refused is None
    assert [p.candidate.is_fallback for p in plan.candidates] == [False, True, True]


def test_without_max_tokens_the_limit_sizes_the_answer_or_refuses() -> None:
    plan = plan_step(policy(), config(cost_limit=0.002), 100, prices=POLICY_PRICES)
    cheap, dear, _ = plan.candidates
    billed = billable_prompt_tokens(100)
    # cheap: what 0.002 pays for after the prompt, at 0.001 per 1k output tokens.
    assert cheap.max_tokens == 2000 - billed and cheap.refused is None
    assert cheap.worst_case is not None and cheap.worst_case <= D("0.002")
    # dear: not even 16 useful tokens fit; the worst case is the smallest useful attempt.
    assert dear.max_tokens is None and dear.refused is not None
    assert dear.refused.limit == "cost_limit"
    assert dear.worst_case == (billed + 16) * D("0.1") / 1000


def test_the_per_request_limit_is_named_when_it_is_the_tighter() -> None:
    plan = plan_step(policy("0.001"), config(cost_limit=1), 100, prices=POLICY_PRICES)
    dear = plan.candidates[1]
    assert dear.refused is not None and dear.refused.limit == "per_request_limit"


def test_the_price_book_decides_what_is_priced() -> None:
    book = PriceBook(lambda spec: (D("0.002"), D("0.004")) if spec.name == "mapped" else None)
    plan = plan_step(policy(), config(max_tokens=10), 100, prices=book)
    mapped = plan.candidates[2]
    assert mapped.price is not None and mapped.price.source == "litellm"
    assert mapped.worst_case == (billable_prompt_tokens(100) * D("0.002") + 10 * D("0.004")) / 1000


def test_open_circuits_are_dropped_only_when_a_breaker_is_given() -> None:
    breaker = CircuitBreaker(failure_threshold=1, cooldown_s=60, clock=lambda: 0.0)
    breaker.record_failure("dear")
    step = config(max_tokens=10)
    with_health = plan_step(policy(), step, 10, prices=POLICY_PRICES, breaker=breaker)
    assert [p.model.name for p in with_health.candidates] == ["cheap", "mapped"]
    without = plan_step(policy(), step, 10, prices=POLICY_PRICES)
    assert [p.model.name for p in without.candidates] == ["cheap", "dear", "mapped"]


def test_size_attempt_reads_what_is_left_of_the_cost_limit_now() -> None:
    step, spec = config(cost_limit=0.01), policy().model("cheap")
    allowance = StepAllowance(D("0.01"))
    fresh = size_attempt(
        step, spec, 100, prices=POLICY_PRICES, controls=policy().cost_controls, allowance=allowance
    )
    allowance.settle(D(0), D("0.009"))  # an earlier attempt spent most of it
    later = size_attempt(
        step, spec, 100, prices=POLICY_PRICES, controls=policy().cost_controls, allowance=allowance
    )
    assert later.max_tokens < fresh.max_tokens
    allowance.settle(D(0), D("0.001"))
    try:
        size_attempt(
            step,
            spec,
            100,
            prices=POLICY_PRICES,
            controls=policy().cost_controls,
            allowance=allowance,
        )
    except LimitExceeded as exc:
        assert exc.limit == "cost_limit"
    else:
        raise AssertionError("an attempt with nothing left of the cost_limit was sized")
