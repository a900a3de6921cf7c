"""Exact money: Decimal prices per 1k tokens and the cost of an attempt.

Costs are quantized to 1e-10, the scale of the ledger's ``Numeric(18, 10)`` columns, so a
cost computed here and the same cost read back from the database agree to the last digit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any, Literal

from ..errors import PolicyError

if TYPE_CHECKING:
    from ..contract.policy import ModelSpec, Policy

__all__ = [
    "COST_QUANTUM",
    "Price",
    "cost_breakdown",
    "cost_of",
    "get_model_costs",
    "money_text",
    "price_for",
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
    """Money for people and JSON: exact, no trailing zeros, never exponent notation."""
    text = format(amount.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def price_for(model: ModelSpec) -> Price | None:
    """The model's price: the policy's figures first, else LiteLLM's map, else ``None``.

    A policy that names only one of the two prices uses it for both (the seed's single
    ``cost_per_1k_tokens`` meant both). ``None`` means unknown: such a model is refused
    whenever a cost limit or daily budget applies (``BudgetGuard.reserve_attempt``); with
    none set it runs, its usage is recorded at $0, and the engine logs a warning naming it
    once per process.
    """
    inp, out = model.input_cost_per_1k, model.output_cost_per_1k
    if inp is not None or out is not None:
        inp = out if inp is None else inp
        out = inp if out is None else out
        assert inp is not None and out is not None
        return Price(Decimal(inp), Decimal(out), "policy")
    # Imported here so that money/ (and the CLI's cheap commands) never pull in LiteLLM.
    from ..routing.gateway import litellm_price

    found = litellm_price(model)
    if found is None:
        return None
    return Price(Decimal(found[0]), Decimal(found[1]), "litellm")


def _check_tokens(*counts: int) -> None:
    for count in counts:
        if count < 0:
            raise ValueError(f"token counts cannot be negative (got {count})")


def cost_of(price: Price, prompt_tokens: int, completion_tokens: int) -> Decimal:
    """Exact cost of one attempt: tokens x price / 1000, at the ledger's scale."""
    _check_tokens(prompt_tokens, completion_tokens)
    raw = (prompt_tokens * price.input_per_1k + completion_tokens * price.output_per_1k) / _THOUSAND
    return quantize_cost(raw)


def worst_case_cost(price: Price, prompt_tokens: int, max_tokens: int) -> Decimal:
    """What an attempt may cost at most: the amount reserved before the call (rounded up)."""
    _check_tokens(prompt_tokens, max_tokens)
    raw = (prompt_tokens * price.input_per_1k + max_tokens * price.output_per_1k) / _THOUSAND
    return quantize_cost(raw, up=True)


def cost_breakdown(price: Price, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    """Input, output and total cost of one usage row, each exact (total = input + output)."""
    _check_tokens(prompt_tokens, completion_tokens)
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


def get_model_costs(
    policy: Policy | Mapping[str, ModelSpec], model_name: str, tokens_used: int
) -> dict[str, Any]:
    """Back-compatible ``AIService.get_model_costs``: what ``tokens_used`` tokens cost.

    The old service knew only a total token count, so the figures say what they would cost
    all as input, all as output, and at the blended (mean) rate; ``total_cost`` is the
    blended one, which equals the old single-price answer when both prices are the same.
    """
    models = policy if isinstance(policy, Mapping) else policy.models
    spec = models.get(model_name)
    if spec is None:
        known = ", ".join(sorted(models)) or "none"
        raise PolicyError(f"unknown model {model_name!r} (known: {known})")
    price = price_for(spec)
    if price is None:
        raise PolicyError(f"model {model_name!r} has no known price (set one in the policy)")
    _check_tokens(tokens_used)
    blended_per_1k = (price.input_per_1k + price.output_per_1k) / 2
    return {
        "model": model_name,
        "tokens_used": tokens_used,
        "input_cost_per_1k": price.input_per_1k,
        "output_cost_per_1k": price.output_per_1k,
        "input_cost": quantize_cost(tokens_used * price.input_per_1k / _THOUSAND),
        "output_cost": quantize_cost(tokens_used * price.output_per_1k / _THOUSAND),
        "blended_cost_per_1k": blended_per_1k,
        "total_cost": quantize_cost(tokens_used * blended_per_1k / _THOUSAND),
        "currency": "USD",
        "price_source": price.source,
    }
