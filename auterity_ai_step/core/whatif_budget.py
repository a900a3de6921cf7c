"""The candidate policy's daily budget in a what-if replay, walked in memory.

A replay reserves and settles each step's worst case as the engine would, but against the
candidate's budget, day by day in its time zone, never against the ledger: the
:class:`DayBook` keeps the ledger's ``reserve`` contract, so the engine's own
:class:`~auterity_ai_step.money.limits.BudgetGuard` checks the limits.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ..errors import LimitExceeded
from ..money.limits import BudgetGuard
from ..money.prices import money_text
from .whatif_report import BudgetDayNow

__all__ = ["DayBook", "ReplayGuard"]

_ZERO = Decimal(0)


class DayBook:
    """The candidate's daily budget in memory, with the ledger's ``reserve`` contract."""

    def __init__(self, days: dict[date, BudgetDayNow], alert_threshold: Decimal) -> None:
        self.days = days
        self.alert_share = alert_threshold / 100

    def reserve(
        self,
        amount: Decimal,
        *,
        day: date,
        daily_budget: Decimal | None,
        execution_id: str | None = None,
        scope: str = "global",
    ) -> int | None:
        if daily_budget is None:
            return None
        book = self.days.get(day)
        if book is None:
            book = self.days[day] = BudgetDayNow(day, daily_budget)
        if book.spent + book.reserved + amount > daily_budget:
            left = max(daily_budget - book.spent - book.reserved, _ZERO)
            raise LimitExceeded(
                f"daily_budget {money_text(daily_budget)} for {day.isoformat()}: "
                f"{money_text(left)} left (spent {money_text(book.spent)}), attempt needs up "
                f"to {money_text(amount)}",
                limit="daily_budget",
                remaining=left,
                needed=amount,
            )
        book.reserved += amount
        return 0

    def settle(self, day: date, reserved: Decimal, actual: Decimal, at: datetime) -> None:
        """Book ``actual``; note when spend first crosses the alert threshold, as
        ``BudgetGuard`` raises its alert."""
        book = self.days.get(day)
        if book is None:
            return
        book.reserved -= reserved
        book.spent += actual
        if (
            book.alert_at is None
            and book.budget > 0
            and book.spent >= book.budget * self.alert_share
        ):
            book.alert_at = at


class ReplayGuard(BudgetGuard):
    """The engine's guard on the candidate policy, its budget day being the step's."""

    day: date

    def today(self, controls: Any = None) -> date:
        return self.day
