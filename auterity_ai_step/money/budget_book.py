"""What the budget guard needs from a ledger: four calls, as a structural protocol.

Money does the arithmetic of limits; where the day's reservations live (a database that
many workers share) is the store's business. The guard talks to any object with these four
methods, so money imports nothing of the store, and the store's ``Ledger`` fits without
naming this protocol. Tests may hand the guard a small in-memory book.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Protocol

from .records import UsageRecord

__all__ = ["BudgetBook"]


class BudgetBook(Protocol):
    """Reservations against a daily budget, settled or released with the attempt's row."""

    def reserve(
        self,
        amount: Decimal,
        *,
        day: date,
        daily_budget: Decimal | None,
        execution_id: str | None = None,
        scope: str = "global",
    ) -> int | None:
        """Hold ``amount`` on ``day``; ``LimitExceeded`` (daily_budget) if it does not fit.

        Returns the reservation's id, to settle or release it by."""
        ...

    def settle(
        self,
        reservation_id: int | None,
        record: UsageRecord,
        *,
        day: date | None = None,
        scope: str = "global",
        alert_at: Decimal | None = None,
        on_deferred: Callable[[str], None] | None = None,
    ) -> bool:
        """Book the actual cost and write the row; True when spend crossed ``alert_at``."""
        ...

    def release(
        self,
        reservation_id: int | None,
        record: UsageRecord | None = None,
        *,
        on_deferred: Callable[[str], None] | None = None,
    ) -> None:
        """Give the reservation back; write the (zero-cost) row if given."""
        ...

    def day_status(self, day: date, scope: str = "global") -> tuple[Decimal, Decimal]:
        """(spent, reserved) on ``day``."""
        ...
