"""Exact money: Decimal prices per 1k tokens, the cost of an attempt, and money as text.

Which price a model has is the price book's business (:mod:`.price_book`); this module
only computes with a price once it is known.

Costs are quantized to 1e-10, the scale of the ledger's ``Numeric(18, 10)`` columns, so a
cost computed here and the same cost read back from the database agree to the last digit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from typing import Any, Literal

__all__ = [
    "COST_QUANTUM",
    "Price",
    "check_tokens",
    "cost_breakdown",
    "cost_of",
    "money_text",
    "quantize_cost",
    "worst_case_cost",
]

COST_QUANTUM = Decimal("1e-10")
_THOUSAND = Decimal(1000)


@dataclass(frozen=True, slots=True)
class Price:
    """Per-1k-token prices and where they came from (the policy or LiteLLM's bundled map)."""

    input_per_1k: Decimal
    output_per_1k: Decimal
    source: Literal["policy", "litellm"]

    def to_data(self) -> dict[str, Any]:
        """JSON-friendly form (Decimals kept; serialise them as strings)."""
        return {
            "input_per_1k": self.input_per_1k,
            "output_per_1k": self.output_per_1k,
            "source": self.source,
        }


def quantize_cost(amount: Decimal, *, up: bool = False) -> Decimal:
    """Round to the ledger scale; ``up`` rounds reservations toward the safe side."""
    return amount.quantize(COST_QUANTUM, rounding=ROUND_CEILING if up else ROUND_HALF_EVEN)


def money_text(amount: Decimal) -> str:
    """Money for people and JSON: exact, no trailing zeros, never exponent notation.

    The one money formatter: step output, log lines, limit messages and the HTTP API all
    write amounts with it (``0.0012870000`` is ``0.001287``, ``1E+1`` is ``10``)."""
    text = format(amount.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def check_tokens(*counts: int) -> None:
    """``ValueError`` for a negative token count: no price turns one into money."""
    for count in counts:
        if count < 0:
            raise ValueError(f"token counts cannot be negative (got {count})")


def cost_of(price: Price, prompt_tokens: int, completion_tokens: int) -> Decimal:
    """Exact cost of one attempt: tokens x price / 1000, at the ledger's scale."""
    check_tokens(prompt_tokens, completion_tokens)
    raw = (prompt_tokens * price.input_per_1k + completion_tokens * price.output_per_1k) / _THOUSAND
    return quantize_cost(raw)


def worst_case_cost(price: Price, prompt_tokens: int, max_tokens: int) -> Decimal:
    """What an attempt may cost at most: the amount reserved before the call (rounded up)."""
    check_tokens(prompt_tokens, max_tokens)
    raw = (prompt_tokens * price.input_per_1k + max_tokens * price.output_per_1k) / _THOUSAND
    return quantize_cost(raw, up=True)


def cost_breakdown(price: Price, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    """Input, output and total cost of one usage row, each exact (total = input + output)."""
    check_tokens(prompt_tokens, completion_tokens)
    input_cost = quantize_cost(prompt_tokens * price.input_per_1k / _THOUSAND)
    output_cost = quantize_cost(completion_tokens * price.output_per_1k / _THOUSAND)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "input_per_1k": price.input_per_1k,
        "output_per_1k": price.output_per_1k,
        "input_cost": input_cost,
        "output_cost": output_cost,
        "total_cost": cost_of(price, prompt_tokens, completion_tokens),
        "price_source": price.source,
    }
