"""The price book of the whole package: the policy's prices, else LiteLLM's bundled map.

Built once here, where the core joins money and routing, and passed to everything that
reads a price (routing's ranking, the engine, estimates, health checks, the faces), so
there is one source of price truth. LiteLLM is imported only when a model has no price in
the policy (``routing.gateway.litellm_price``).
"""

from __future__ import annotations

from ..money.price_book import PriceBook
from ..routing.gateway import litellm_price

__all__ = ["PRICES"]

PRICES = PriceBook(litellm_price)
"""Every price the package uses: the policy's figures first, else LiteLLM's bundled map."""
