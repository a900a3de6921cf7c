"""Money: exact Decimal prices and costs, and limits enforced by reservation."""

from __future__ import annotations

from .limits import BudgetAlert, BudgetGuard, Reservation, StepAllowance, cap_max_tokens
from .prices import Price, cost_breakdown, cost_of, get_model_costs, price_for, worst_case_cost

__all__ = [
    "BudgetAlert",
    "BudgetGuard",
    "Price",
    "Reservation",
    "StepAllowance",
    "cap_max_tokens",
    "cost_breakdown",
    "cost_of",
    "get_model_costs",
    "price_for",
    "worst_case_cost",
]
