"""Judging reported usage: what is believable is charged as reported, what is not is an
anomaly charged safely, and nothing a provider sends can make the judgement raise."""

from __future__ import annotations

from decimal import Decimal

import pytest

from auterity_ai_step.money.prices import Price, cost_of
from auterity_ai_step.money.usage import MAX_COST, MAX_TOKENS, judge_usage

PRICE = Price(Decimal("0.00015"), Decimal("0.0006"), "policy")
WORST = Decimal("0.0000645")  # what the engine reserved: 100 output tokens plus the prompt


def judge(prompt: int, completion: int, **kw: object) -> object:
    options: dict[str, object] = {"max_tokens": 100, "context_window": 1000, "worst_case": WORST}
    options.update(kw)
    return judge_usage(PRICE, prompt, completion, **options)  # type: ignore[arg-type]


def test_believable_usage_is_charged_as_reported() -> None:
    verdict = judge(10, 100)
    assert verdict.cost == cost_of(PRICE, 10, 100) and verdict.anomaly is None
    assert not verdict.over_reported


@pytest.mark.parametrize(
    ("prompt", "completion", "code"),
    [(10, -1000, "negative_usage"), (-5, 10, "negative_usage"), (-(10**5000), 0, "negative_usage")],
    ids=["completion", "prompt", "huge"],
)
def test_negative_counts_are_charged_at_the_worst_case(
    prompt: int, completion: int, code: str
) -> None:
    verdict = judge(prompt, completion)
    assert verdict.anomaly is not None and verdict.anomaly.startswith(code)
    assert verdict.cost == WORST and verdict.prompt_tokens >= 0 <= verdict.completion_tokens
    assert not verdict.over_reported


def test_missing_usage_is_charged_at_the_worst_case_never_more() -> None:
    verdict = judge(10, 5000, estimated=True)  # our count of a long answer: above the worst
    assert verdict.cost == WORST
    assert verdict.anomaly is not None and verdict.anomaly.startswith("missing_usage")
    assert not verdict.over_reported


def test_over_reports_are_charged_as_reported_and_flagged() -> None:
    verdict = judge(10, 10_000)
    assert verdict.over_reported and verdict.cost == cost_of(PRICE, 10, 10_000) > WORST
    assert verdict.anomaly is not None and verdict.anomaly.startswith("over_max_tokens")
    assert "charged as reported" in verdict.anomaly
    window = judge(5000, 10)
    assert window.over_reported and window.anomaly.startswith("over_context_window")


def test_absurd_counts_are_clamped_and_the_cost_fits_the_column() -> None:
    verdict = judge(10**5000, 10**5000)  # too many digits even to print
    assert verdict.prompt_tokens == verdict.completion_tokens == MAX_TOKENS
    assert verdict.cost == MAX_COST and verdict.over_reported
    assert verdict.anomaly is not None
    assert "tokens_clamped" in verdict.anomaly and "cost_clamped" in verdict.anomaly


def test_an_unpriced_model_is_judged_at_zero_cost() -> None:
    verdict = judge_usage(None, 10, -1, max_tokens=100, context_window=1000, worst_case=None)
    assert verdict.cost == 0 and verdict.anomaly is not None
