"""One price book: the policy's prices first, else a price map the caller injects.

Money knows no provider library, so the fallback map comes from outside: the core builds
its book over LiteLLM's bundled map (:mod:`auterity_ai_step.core.prices`) and hands that
same book to routing's ranking, the engine, estimates, health checks and the faces. Every
reader of a price therefore sees the same figure and the same ``source``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..errors import PolicyError
from .prices import Price, check_tokens, quantize_cost

if TYPE_CHECKING:
    from ..contract.policy import ModelSpec, Policy

__all__ = ["POLICY_PRICES", "PriceBook", "PriceMap"]

PriceMap = Callable[["ModelSpec"], "tuple[Decimal, Decimal] | None"]
"""A model -> its per-1k (input, output) prices, or ``None`` when the map has none."""

_THOUSAND = Decimal(1000)


@dataclass(frozen=True, slots=True)
class PriceBook:
    """Prices by model: the policy's figures, else ``fallback``'s, else unknown (``None``)."""

    fallback: PriceMap | None = None

    def price(self, model: ModelSpec) -> Price | None:
        """The model's price: the policy's figures first, else the fallback map's.

        A policy that names only one of the two prices uses it for both (the seed's single
        ``cost_per_1k_tokens`` meant both). ``None`` means unknown: such a model is refused
        whenever a cost limit or daily budget applies (``BudgetGuard.reserve_attempt``);
        with none set it runs, its usage is recorded at $0, and the engine logs a warning
        naming it once per process.
        """
        inp, out = model.input_cost_per_1k, model.output_cost_per_1k
        if inp is not None or out is not None:
            inp = out if inp is None else inp
            out = inp if out is None else out
            assert inp is not None and out is not None
            return Price(Decimal(inp), Decimal(out), "policy")
        found = None if self.fallback is None else self.fallback(model)
        if found is None:
            return None
        return Price(Decimal(found[0]), Decimal(found[1]), "litellm")

    def blended(self, model: ModelSpec) -> Decimal | None:
        """The mean of input and output price per 1k tokens: what ranking compares."""
        price = self.price(model)
        return None if price is None else (price.input_per_1k + price.output_per_1k) / 2

    def model_costs(
        self, policy: Policy | Mapping[str, ModelSpec], model_name: str, tokens_used: int
    ) -> dict[str, Any]:
        """Back-compatible ``AIService.get_model_costs``: what ``tokens_used`` tokens cost.

        The old service knew only a total token count, so the figures say what they would
        cost all as input, all as output, and at the blended (mean) rate; ``total_cost`` is
        the blended one, which equals the old single-price answer when both prices are the
        same.
        """
        models = policy if isinstance(policy, Mapping) else policy.models
        spec = models.get(model_name)
        if spec is None:
            known = ", ".join(sorted(models)) or "none"
            raise PolicyError(f"unknown model {model_name!r} (known: {known})")
        price = self.price(spec)
        if price is None:
            raise PolicyError(f"model {model_name!r} has no known price (set one in the policy)")
        check_tokens(tokens_used)
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


POLICY_PRICES = PriceBook()
"""The policy's prices alone (no fallback map): for pure callers and tests."""
