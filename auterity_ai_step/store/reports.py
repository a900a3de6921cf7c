"""Read-only reports over the ledger (the SQL is in ``queries.py``): totals, series, costs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from . import queries
from .database import Database

__all__ = ["Reports"]


class Reports:
    """Usage and budget reports of one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def totals(self, days: int, model: str | None = None) -> dict[str, Any]:
        """Calls, tokens and cost by model and by UTC day for the last ``days`` days."""
        if days < 1:
            raise ValueError("days must be at least 1")
        backend = self.db.backend
        return self.db.run(lambda conn: queries.totals(conn, backend, days, model))

    def usage_series(self, days: int, group_by: str = "model") -> list[dict[str, Any]]:
        """Usage per UTC day and per model (``group_by="model"``) or provider."""
        backend = self.db.backend
        return self.db.run(lambda conn: queries.usage_series(conn, backend, days, group_by))

    def model_performance(self, days: int) -> list[dict[str, Any]]:
        """Per model: calls, errors, fallbacks and p50/p95 latency over ``days`` days."""
        return self.db.run(lambda conn: queries.model_performance(conn, days))

    def top_costs(self, days: int, by: str, limit: int = 5) -> list[dict[str, Any]]:
        """The executions (``by="execution"``) or nodes (``"node"``) that cost most."""
        return self.db.run(lambda conn: queries.top_costs(conn, days, by, limit))

    def budget_spent_between(self, first: date, last: date, scope: str = "global") -> Decimal:
        """What the budget booked as spent from ``first`` to ``last``, both included."""
        return self.db.run(lambda conn: queries.budget_spent_between(conn, first, last, scope))
