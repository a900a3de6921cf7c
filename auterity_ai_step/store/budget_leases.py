"""Budget leases: each worker spends a slice of the day's budget without touching the day row.

Without leases every reservation and every settle updates the one ``budget_days`` row of the
day, and on PostgreSQL workers queue on its row lock. With leases (opt-in, only for a daily
budget) a worker first *leases* a slice: one conditional ``UPDATE budget_days SET reserved =
reserved + slice WHERE spent + reserved + slice <= budget`` plus a ``budget_leases`` row, so
the slices together never exceed the budget. Its reservations then update its own lease row
(``held + amount <= amount`` re-checked under the lease's row lock) and still insert their
``budget_reservations`` row (``lease_id`` set); a settle moves the hold to the lease's
``spent`` and writes the usage row as before.

Returning a lease (``Ledger.close``, at exit, when it runs low or expires, or by any worker
once it expired: a killed worker's) is one transaction: the lease row is stamped, its open
reservations become ordinary reservations of the day (``lease_id`` cleared), and the day
books the lease's ``spent`` and gives back ``amount - spent - held``. The reserved-but-unsettled
part stays reserved, so a killed worker's in-flight attempts are charged at their worst case
by the ordinary expiry (``expire_reservations``), exactly as without leases.

Lock order on PostgreSQL is always lease row, then reservation rows, then day row.
"""

from __future__ import annotations

import atexit
import logging
import threading
import uuid
import weakref
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

from ..errors import LimitExceeded

if TYPE_CHECKING:
    from .budget_book import BudgetBook

__all__ = ["LeaseTerms", "Leases"]

log = logging.getLogger("auterity_ai_step.store")
_ZERO = Decimal(0)
_CENT_OF_NANO = Decimal("1e-10")  # the Money columns' resolution

_SQL = {
    "grant": (
        "INSERT INTO budget_leases (day, scope, amount, held, spent, owner, granted_at, "
        "expires_at) VALUES (?, ?, ?, 0, 0, ?, ?, ?) RETURNING id"
    ),
    "hold_in_lease": (
        "UPDATE budget_leases SET held = held + ? WHERE id = ? AND returned_at IS NULL "
        "AND expires_at > ? AND spent + held + ? <= amount"
    ),
    "new_leased_hold": (
        "INSERT INTO budget_reservations (day, scope, amount, execution_id, created_at, "
        "lease_id) VALUES (?, ?, ?, ?, ?, ?) RETURNING id"
    ),
    "close_lease": (
        "UPDATE budget_leases SET returned_at = ? WHERE id = ? AND returned_at IS NULL "
        "RETURNING day, scope, amount, held, spent"
    ),
    "unlease_holds": "UPDATE budget_reservations SET lease_id = NULL WHERE lease_id = ?",
    "expired_leases": (
        "SELECT id FROM budget_leases WHERE returned_at IS NULL AND expires_at <= ? ORDER BY id"
    ),
}


@dataclass(frozen=True, slots=True)
class LeaseTerms:
    """How big a slice a worker leases and for how long.

    A slice is ``fraction`` of the daily budget (at least the attempt that asks for it, and
    at most what the day has left). A lease lives ``ttl_s`` seconds: then its owner returns
    it and takes a new one, and once expired any worker may return it (a killed worker's).
    """

    fraction: Decimal = Decimal("0.05")
    ttl_s: float = 60.0

    def slice_of(self, budget: Decimal) -> Decimal:
        """``fraction`` of ``budget``, rounded down to the ledger's 1e-10 dollars."""
        return (budget * self.fraction).quantize(_CENT_OF_NANO, rounding=ROUND_DOWN)

    def __post_init__(self) -> None:
        if not (self.fraction.is_finite() and 0 < self.fraction <= 1):
            raise ValueError(f"LeaseTerms.fraction must be in (0, 1] (got {self.fraction})")
        if not self.ttl_s > 0:
            raise ValueError(f"LeaseTerms.ttl_s must be > 0 seconds (got {self.ttl_s})")


@dataclass(frozen=True, slots=True)
class _Lease:
    id: int
    expires_at: datetime


class Leases:
    """This worker's open leases (one per budget day and scope) in one database."""

    def __init__(self, book: BudgetBook, terms: LeaseTerms) -> None:
        self.book = book
        self.terms = terms
        self.owner = f"{uuid.uuid4()}"
        self.sql = _statements(book)
        self._open: dict[tuple[date, str], _Lease] = {}
        self._lock = threading.Lock()
        self._closed = False
        ref = weakref.ref(self)

        def at_exit() -> None:
            leases = ref()
            if leases is not None:
                leases.close()

        self._at_exit = at_exit
        atexit.register(at_exit)

    @property
    def closed(self) -> bool:
        """After :meth:`close` the ledger reserves on the day row directly again."""
        return self._closed

    # -- reserving in a lease ----------------------------------------------------------------

    def reserve(
        self, amount: Decimal, *, day: date, budget: Decimal, execution_id: str | None, scope: str
    ) -> int:
        """Hold ``amount`` in this worker's lease of the day, leasing a slice when needed."""
        key = (day, scope)
        for _ in range(3):
            lease = self._open.get(key)
            if lease is not None:
                held = self._hold(lease, amount, day, scope, execution_id)
                if held is not None:
                    return held
            with self._lock:
                if self._open.get(key) is lease:  # no other thread renewed it meanwhile
                    if lease is not None:
                        self._open.pop(key)
                        self.give_back(lease.id)
                    self._open[key] = self._grant(amount, day, budget, scope)
        raise LimitExceeded(  # pragma: no cover - three fresh leases each too small
            f"daily_budget: no lease could hold {amount}",
            limit="daily_budget",
            remaining=_ZERO,
            needed=amount,
        )

    def _hold(
        self, lease: _Lease, amount: Decimal, day: date, scope: str, execution_id: str | None
    ) -> int | None:
        from .records import COLUMN_SIZES, storable_text
        from .tables import utcnow

        drv, sql = self.book.driver, self.sql

        def work(cur: Any) -> int | None:
            now, held = utcnow(), drv.money(amount)
            cur.execute(sql["hold_in_lease"], (held, lease.id, drv.time(now), held))
            if cur.rowcount == 0:
                return None
            owner = storable_text(execution_id, COLUMN_SIZES["execution_id"])
            row = (drv.day(day), scope, held, owner, drv.time(now), lease.id)
            cur.execute(sql["new_leased_hold"], row)
            return int(cur.fetchone()[0])

        return self.book.run(work, "reserve budget")

    def _grant(self, need: Decimal, day: date, budget: Decimal, scope: str) -> _Lease:
        """Lease a slice of the day: the conditional update of the day row decides."""
        from .tables import utcnow

        drv, book = self.book.driver, self.book
        wanted = min(max(self.terms.slice_of(budget), need), budget)

        def work(cur: Any) -> _Lease | tuple[Decimal, Decimal]:
            on = drv.day(day)
            size = wanted
            if not book.hold_on_day(cur, size, on, scope, budget):
                spent, reserved = book.status_in(cur, on, scope)
                size = budget - spent - reserved
                if size < need or not book.hold_on_day(cur, size, on, scope, budget):
                    return spent, reserved
            now = utcnow()
            expires = now + timedelta(seconds=self.terms.ttl_s)
            args = (on, scope, drv.money(size), self.owner, drv.time(now), drv.time(expires))
            cur.execute(self.sql["grant"], args)
            return _Lease(int(cur.fetchone()[0]), expires)

        result = book.run(work, "lease budget")
        if isinstance(result, tuple) and self.reclaim_expired():
            result = book.run(work, "lease budget")  # a dead worker's lease came back
        if isinstance(result, tuple):
            from .budget_book import short

            raise short(need, day, budget, *result)
        return result

    # -- returning ---------------------------------------------------------------------------

    def give_back(self, lease_id: int) -> None:
        """Return one of this worker's leases."""
        give_back(self.book, lease_id)

    def reclaim_expired(self) -> int:
        """Return every expired lease (a killed or stuck worker's); how many."""
        return reclaim_expired(self.book)

    def close(self) -> None:
        """Return this worker's leases (at ``Ledger.close`` and at exit)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            atexit.unregister(self._at_exit)
            open_leases, self._open = list(self._open.values()), {}
        for lease in open_leases:
            try:
                self.give_back(lease.id)
            except Exception as exc:  # the lease expires and any worker returns it then
                log.warning(
                    "could not return budget lease %d (%s); it comes back when it expires",
                    lease.id,
                    exc.__class__.__name__,
                )


def give_back(book: BudgetBook, lease_id: int) -> None:
    """Return one lease: book its spend, free its unused rest, keep its holds reserved."""
    from .tables import utcnow

    drv, sql = book.driver, _statements(book)

    def work(cur: Any) -> Decimal | None:
        cur.execute(sql["close_lease"], (drv.time(utcnow()), lease_id))
        row = cur.fetchone()
        if row is None:
            return None  # returned already (by its owner or by an expiry)
        on, scope = row[0], row[1]
        amount, held, spent = (drv.money_from(v) for v in row[2:])
        cur.execute(sql["unlease_holds"], (lease_id,))
        book.book_on_day(cur, on, scope, spent, amount - held)
        return amount - held - spent

    freed = book.run(work, "return a budget lease")
    if freed is not None:
        log.debug("returned budget lease %d (%s unused)", lease_id, freed)


def reclaim_expired(book: BudgetBook) -> int:
    """Return every expired lease (a killed or stuck worker's); how many."""
    from .tables import utcnow

    drv = book.driver

    def work(cur: Any) -> list[int]:
        cur.execute(_statements(book)["expired_leases"], (drv.time(utcnow()),))
        return [int(r[0]) for r in cur.fetchall()]

    expired = book.run(work, "read expired budget leases")
    for lease_id in expired:
        give_back(book, lease_id)
    if expired:
        log.warning(
            "returned %d expired budget leases (their open reservations stay reserved "
            "until they settle or expire)",
            len(expired),
        )
    return len(expired)


def _statements(book: BudgetBook) -> dict[str, str]:
    return dict(_SQL) if book.driver.sqlite else {k: v.replace("?", "%s") for k, v in _SQL.items()}
