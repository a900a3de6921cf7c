"""Exact Decimal prices and costs, checked against hand computations."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auterity_ai_step.contract.policy import ModelSpec, load_policy
from auterity_ai_step.errors import PolicyError
from auterity_ai_step.money.price_book import POLICY_PRICES, PriceBook
from auterity_ai_step.money.prices import (
    Price,
    cost_breakdown,
    cost_of,
    money_text,
    quantize_cost,
    worst_case_cost,
)

ROOT = Path(__file__).resolve().parents[2]


def spec(name: str = "m", inp: str | None = None, out: str | None = None) -> ModelSpec:
    return ModelSpec(
        name=name,
        provider="openai",
        litellm_model=f"openai/{name}",
        input_cost_per_1k=None if inp is None else Decimal(inp),
        output_cost_per_1k=None if out is None else Decimal(out),
        context_window=8192,
        max_output_tokens=4096,
        quality=5,
    )


def book_over(prices: dict[str, tuple[Decimal, Decimal]]) -> PriceBook:
    """A price book whose fallback map is ``prices`` (by LiteLLM model name)."""
    return PriceBook(lambda model: prices.get(model.litellm_model))


def test_original_task_gpt4_price_for_1234_tokens() -> None:
    policy = load_policy(ROOT / "policies" / "examples" / "original_task.yml")
    costs = POLICY_PRICES.model_costs(policy, "gpt-4", 1234)
    # 1234 x 0.03 / 1000 = 0.03702 exactly, whichever way the tokens are split.
    assert costs["total_cost"] == Decimal("0.03702")
    assert costs["input_cost"] == costs["output_cost"] == Decimal("0.03702")
    assert costs["input_cost_per_1k"] == Decimal("0.03")
    assert isinstance(costs["total_cost"], Decimal)
    assert costs["price_source"] == "policy"


def test_get_model_costs_blended_and_split_prices() -> None:
    models = {"x": spec("x", "0.0025", "0.01")}
    costs = POLICY_PRICES.model_costs(models, "x", 1000)
    assert costs["input_cost"] == Decimal("0.0025")
    assert costs["output_cost"] == Decimal("0.01")
    assert costs["blended_cost_per_1k"] == Decimal("0.00625")
    assert costs["total_cost"] == Decimal("0.00625")


def test_get_model_costs_refuses_unknown_model_and_unknown_price() -> None:
    book = book_over({})
    with pytest.raises(PolicyError, match=r"unknown model 'nope'.*known: x"):
        book.model_costs({"x": spec("x", "1", "1")}, "nope", 10)
    with pytest.raises(PolicyError, match="no known price"):
        book.model_costs({"free?": spec("free?")}, "free?", 10)


def test_model_costs_use_the_books_fallback_price() -> None:
    book = book_over({"openai/mapped": (Decimal("0.001"), Decimal("0.003"))})
    costs = book.model_costs({"mapped": spec("mapped")}, "mapped", 1000)
    assert costs["total_cost"] == Decimal("0.002")
    assert costs["price_source"] == "litellm"


def test_price_prefers_policy_and_fills_a_missing_side() -> None:
    book = book_over({"openai/m": (Decimal(9), Decimal(9))})  # never asked: policy first
    assert book.price(spec(inp="0.03")) == Price(Decimal("0.03"), Decimal("0.03"), "policy")
    assert book.price(spec(out="0.06")) == Price(Decimal("0.06"), Decimal("0.06"), "policy")
    assert book.price(spec(inp="0", out="0")) == Price(Decimal(0), Decimal(0), "policy")
    assert book.blended(spec(inp="0.001", out="0.003")) == Decimal("0.002")


def test_price_falls_back_to_the_injected_map_else_none() -> None:
    book = book_over({"openai/known": (Decimal("0.00015"), Decimal("0.0006"))})
    assert book.price(spec("known")) == Price(Decimal("0.00015"), Decimal("0.0006"), "litellm")
    assert book.price(spec("unknown")) is None
    assert book.blended(spec("unknown")) is None
    assert POLICY_PRICES.price(spec("known")) is None  # no map: the policy's prices alone


def test_money_package_does_not_import_litellm() -> None:
    import subprocess

    code = (
        "import sys, auterity_ai_step.money, auterity_ai_step.store;"
        "assert 'litellm' not in sys.modules, 'litellm imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cost_of_is_exact_and_breakdown_adds_up() -> None:
    price = Price(Decimal("0.00015"), Decimal("0.0006"), "policy")
    # 1234 x 0.00015 / 1000 + 567 x 0.0006 / 1000 = 0.0001851 + 0.0003402
    assert cost_of(price, 1234, 567) == Decimal("0.0005253")
    row = cost_breakdown(price, 1234, 567)
    assert row["input_cost"] == Decimal("0.0001851")
    assert row["output_cost"] == Decimal("0.0003402")
    assert row["total_cost"] == row["input_cost"] + row["output_cost"]
    assert row["total_tokens"] == 1801


def test_worst_case_rounds_up_and_bounds_actual() -> None:
    price = Price(Decimal("0.0000001"), Decimal("0.0000003"), "litellm")
    # 1 x 1e-7 / 1000 = 1e-10 exactly; 1 output token 3e-10.
    assert worst_case_cost(price, 1, 1) == Decimal("4e-10")
    tiny = Price(Decimal("0.00000001"), Decimal(0), "policy")
    assert worst_case_cost(tiny, 1, 0) == Decimal("1e-10")  # 1e-11 rounded up, not to 0
    assert cost_of(tiny, 1, 0) == Decimal(0)


def test_negative_tokens_refused() -> None:
    price = Price(Decimal(1), Decimal(1), "policy")
    with pytest.raises(ValueError, match="negative"):
        cost_of(price, -1, 0)


def test_price_to_data() -> None:
    data = Price(Decimal("1"), Decimal("2"), "policy").to_data()
    assert data == {"input_per_1k": Decimal(1), "output_per_1k": Decimal(2), "source": "policy"}


prices = st.decimals(min_value=0, max_value=1, places=7, allow_nan=False)
tokens = st.integers(min_value=0, max_value=2_000_000)


@given(prices, prices, tokens, tokens, tokens)
def test_worst_case_never_below_actual(
    inp: Decimal, out: Decimal, prompt: int, completion: int, extra: int
) -> None:
    price = Price(inp, out, "policy")
    actual = cost_of(price, prompt, completion)
    assert actual <= worst_case_cost(price, prompt, completion + extra)
    assert actual == quantize_cost((prompt * inp + completion * out) / 1000)
    assert actual.as_tuple().exponent >= -10


def test_one_money_formatter_for_output_messages_and_the_api() -> None:
    from auterity_ai_step.api.models import money

    assert money is money_text
    cases = {
        "0.0012870000": "0.001287",
        "10.0000000000": "10",
        "1E+1": "10",
        "0E-10": "0",
        "-0": "0",
        "0.1000": "0.1",
        "1E-10": "0.0000000001",
    }
    for raw, text in cases.items():
        assert money_text(Decimal(raw)) == text
