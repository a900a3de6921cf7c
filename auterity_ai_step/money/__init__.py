"""Money: exact Decimal prices and costs, one price book, and limits enforced by reservation.

Imports only the contract and the kernel: prices come through a :class:`PriceBook` whose
fallback map the caller injects, and the budget guard talks to any :class:`BudgetBook`.
"""

from __future__ import annotations

from .budget_book import BudgetBook
from .limits import BudgetAlert, BudgetGuard, Reservation, StepAllowance, cap_max_tokens
from .price_book import POLICY_PRICES, PriceBook, PriceMap
from .prices import Price, cost_breakdown, cost_of, money_text, worst_case_cost
from .records import UsageRecord

__all__ = [
    "POLICY_PRICES",
    "BudgetAlert",
    "BudgetBook",
    "BudgetGuard",
    "Price",
    "PriceBook",
    "PriceMap",
    "Reservation",
    "StepAllowance",
    "UsageRecord",
    "cap_max_tokens",
    "cost_breakdown",
    "cost_of",
    "money_text",
    "worst_case_cost",
]
