"""The budget book: reserve an attempt's worst case, book what it cost, expire leaked holds.

Reservations are atomic in the database, so workers sharing it can never together overspend:
PostgreSQL runs a conditional ``UPDATE ... WHERE spent + reserved + :amount <= :budget``
(the row lock serialises concurrent updates, which re-check the condition); SQLite runs every
transaction as ``BEGIN IMMEDIATE`` (one writer at a time, across processes) in WAL mode.
A reservation is one transaction; a :class:`Booking` (settle, release or record, with its
usage row) is one more.

A reservation older than any live step is *expired*: its worst case is charged to the day as
spent (the attempt may have reached the provider, which bills it), and the row is kept with
``expired_at`` set. A later settle of the same attempt (a slow step, an outbox replay)
deletes the row and books only ``actual - reserved``. Both statements take the
reservation's row lock (PostgreSQL) or the one write lock (SQLite), so whichever commits
second sees the first's result: the day is charged exactly once.

Reserving and booking run as fixed SQL on the driver (``driver.py``): they are on every
attempt's path. Expiry and status reads are Core statements built once.

With :class:`~.budget_leases.LeaseTerms` a worker reserves and settles inside its own lease
of a slice of the day instead of the shared day row (``budget_leases.py``); the day row
then moves once per lease, and the rules above hold for the slices.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal, TypeVar

from sqlalchemy import Connection, bindparam, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from .. import nowait
from ..errors import LimitExceeded, StoreError
from ..money.prices import money_text
from .budget_leases import Leases, LeaseTerms, reclaim_expired
from .database import Database
from .driver import Driver
from .records import COLUMN_SIZES, UsageRecord, storable_text
from .tables import Money, utcnow
from .tables import budget_days as _DAYS
from .tables import budget_leases as _LEASES
from .tables import budget_reservations as _HOLDS
from .usage_rows import UsageRows

__all__ = ["EXPIRED_KEPT_S", "Booking", "BookingKind", "BudgetBook", "short"]

T = TypeVar("T")
log = logging.getLogger("auterity_ai_step.store")
#: Expired reservations are kept this long for a late settle to correct, then purged.
EXPIRED_KEPT_S = 7 * 24 * 3600
# Only one worker expires reservations at a time (PostgreSQL advisory lock key: "EXPIRE").
_EXPIRY_LOCK_KEY = 0x45_5850_4952_45
_ZERO = Decimal(0)

_MONEY = Money()


def _money(name: str) -> Any:
    return bindparam(name, type_=_MONEY)


_THIS_DAY = (_DAYS.c.day == bindparam("b_day"), _DAYS.c.scope == bindparam("b_scope"))
_DAY_STATUS = select(_DAYS.c.spent, _DAYS.c.reserved).where(*_THIS_DAY)
_LEASED_SPENT = select(func.coalesce(func.sum(_LEASES.c.spent), 0)).where(
    _LEASES.c.day == bindparam("b_day"),
    _LEASES.c.scope == bindparam("b_scope"),
    _LEASES.c.returned_at.is_(None),
)
_BOOK = (
    update(_DAYS)
    .where(*_THIS_DAY)
    .values(
        spent=_DAYS.c.spent + _money("b_spent"),
        reserved=_DAYS.c.reserved - _money("b_released"),
    )
)


BookingKind = Literal["settle", "release", "record"]


@dataclass(frozen=True, slots=True)
class Booking:
    """One write after an attempt: its usage row and what it books to the budget day.

    ``settle`` turns a reservation into the record's cost; ``release`` drops a reservation
    of an attempt that cost nothing; ``record`` books a row without a reservation.
    ``day``/``scope`` book the cost when there is no reservation (or it was purged). Kept
    in the outbox as JSON when the database cannot take it now (``alert_at`` is not: a
    replay raises no alert).
    """

    kind: BookingKind
    reservation_id: int | None = None
    record: UsageRecord | None = None
    day: date | None = None
    scope: str = "global"
    alert_at: Decimal | None = None

    @property
    def cost(self) -> Decimal:
        """What this booking counts as spent (a release counts nothing)."""
        if self.kind == "release" or self.record is None:
            return _ZERO
        return self.record.cost

    def to_data(self) -> dict[str, Any]:
        """The outbox entry (JSON-safe)."""
        return {
            "op": self.kind,
            "reservation_id": self.reservation_id,
            "record": None if self.record is None else self.record.to_data(),
            "day": None if self.day is None else self.day.isoformat(),
            "scope": self.scope,
        }

    @classmethod
    def from_data(cls, entry: dict[str, Any]) -> Booking:
        """Inverse of :meth:`to_data` (also reads entries older versions wrote)."""
        record = entry.get("record")
        return cls(
            kind=entry["op"],
            reservation_id=entry.get("reservation_id"),
            record=None if record is None else UsageRecord.from_data(record),
            day=date.fromisoformat(entry["day"]) if entry.get("day") else None,
            scope=entry.get("scope", "global"),
        )


class BudgetBook:
    """Budget days and reservations of one database."""

    def __init__(self, db: Database, usage: UsageRows, leases: LeaseTerms | None = None) -> None:
        self.db = db
        self.usage = usage
        self.driver = Driver(db)
        self.leases = None if leases is None else Leases(self, leases)
        self._insert = pg_insert if db.backend == "postgresql" else sqlite_insert
        self._new_day = (
            self._insert(_DAYS).values(spent=0, reserved=0, alerted=False).on_conflict_do_nothing()
        )

    def _ensure_day(self, conn: Connection, day: date, scope: str) -> None:
        conn.execute(self._new_day, {"day": day, "scope": scope})

    def reserve(
        self,
        amount: Decimal,
        *,
        day: date,
        daily_budget: Decimal | None,
        execution_id: str | None = None,
        scope: str = "global",
    ) -> int:
        """Atomically reserve ``amount`` on ``day``; ``LimitExceeded`` if the budget is short.

        One transaction: the conditional update of the day and the reservation's row.
        """
        if not (amount.is_finite() and amount >= 0):
            raise ValueError(f"a reservation must be >= 0 US dollars (got {amount})")
        if self.leases is not None and daily_budget is not None and not self.leases.closed:
            nowait.check()  # a lease may be granted first: two transactions
            return self.leases.reserve(
                amount, day=day, budget=daily_budget, execution_id=execution_id, scope=scope
            )
        drv, sql = self.driver, self.driver.sql

        def work(cur: Any) -> int:
            held, on = drv.money(amount), drv.day(day)
            args: tuple[Any, ...] = (held, on, scope)
            stmt = sql["hold"]
            if daily_budget is not None:
                stmt, args = sql["hold_within"], (*args, held, drv.money(daily_budget))
            cur.execute(stmt, args)
            if cur.rowcount == 0:
                cur.execute(sql["new_day"], (on, scope, drv.flag(False)))
                cur.execute(stmt, args)
                if cur.rowcount == 0:
                    assert daily_budget is not None
                    cur.execute(sql["day_status"], (on, scope))
                    spent, reserved = (drv.money_from(v) for v in cur.fetchone())
                    raise short(amount, day, daily_budget, spent, reserved)
            owner = storable_text(execution_id, COLUMN_SIZES["execution_id"])
            cur.execute(sql["new_hold"], (on, scope, held, owner, drv.time(utcnow())))
            return int(cur.fetchone()[0])

        return drv.run(work, "could not reserve budget")

    def run(self, work: Callable[[Any], T], what: str) -> T:
        """``work(cursor)`` in one driver transaction; database errors as ``StoreError``."""
        return self.driver.run(work, f"could not {what}")

    def hold_on_day(self, cur: Any, amount: Decimal, on: Any, scope: str, budget: Decimal) -> bool:
        """Add ``amount`` to the day's reserved if it fits the budget (creating the day)."""
        drv, sql = self.driver, self.driver.sql
        held = drv.money(amount)
        args = (held, on, scope, held, drv.money(budget))
        cur.execute(sql["hold_within"], args)
        if cur.rowcount == 0:
            cur.execute(sql["new_day"], (on, scope, drv.flag(False)))
            cur.execute(sql["hold_within"], args)
        return bool(cur.rowcount == 1)

    def status_in(self, cur: Any, on: Any, scope: str) -> tuple[Decimal, Decimal]:
        """(spent, reserved) of the day row, inside a driver transaction."""
        cur.execute(self.driver.sql["day_status"], (on, scope))
        row = cur.fetchone()
        return (
            (_ZERO, _ZERO)
            if row is None
            else (self.driver.money_from(row[0]), self.driver.money_from(row[1]))
        )

    def book_on_day(self, cur: Any, on: Any, scope: str, spent: Decimal, released: Decimal) -> None:
        """Book ``spent`` and release ``released`` on the day row (creating the day)."""
        drv, sql = self.driver, self.driver.sql
        book = (drv.money(spent), drv.money(released), on, scope)
        cur.execute(sql["book"], book)
        if cur.rowcount == 0:
            cur.execute(sql["new_day"], (on, scope, drv.flag(False)))
            cur.execute(sql["book"], book)

    def apply(self, booking: Booking) -> bool:
        """Write ``booking`` in one transaction; True when it crossed ``alert_at`` first.

        The ``alerted`` flag is set by a conditional UPDATE, so exactly one worker sees True.
        """
        drv, sql = self.driver, self.driver.sql

        def work(cur: Any) -> bool:
            if booking.record is not None:
                cur.execute(sql["usage"], drv.usage_row(booking.record))
            on = None if booking.day is None else drv.day(booking.day)
            scope, held, expired_at, lease_id = booking.scope, _ZERO, None, None
            if booking.reservation_id is not None:
                if self.leases is not None and not drv.sqlite:  # lock the lease row first
                    cur.execute(sql["lock_lease_of"], (booking.reservation_id,))
                cur.execute(sql["take_hold"], (booking.reservation_id,))
                row = cur.fetchone()
                if row is not None:
                    on, scope, held, expired_at = row[0], row[1], drv.money_from(row[2]), row[3]
                    lease_id = row[4]
            cost = booking.cost
            if lease_id is not None:
                # Held in an open lease (we hold its lock, so it cannot be returned now).
                settle = (drv.money(held), drv.money(cost), lease_id)
                cur.execute(sql["settle_in_lease"], settle)
                if cur.rowcount != 1:  # pragma: no cover - a returned lease clears lease_id
                    raise StoreError(f"budget lease {lease_id} closed under its reservation")
                if booking.alert_at is None or cost == 0:
                    return False
                flag = (drv.flag(True), on, scope, drv.flag(False), on, scope)
                cur.execute(sql["flag_alert_leased"], (*flag, drv.money(booking.alert_at)))
                return bool(cur.rowcount == 1)
            # An expired reservation was charged as spent and released already: correct it.
            spent, released = (cost - held, _ZERO) if expired_at is not None else (cost, held)
            if on is None or (spent == 0 and released == 0):
                return False
            book = (drv.money(spent), drv.money(released), on, scope)
            cur.execute(sql["book"], book)
            if cur.rowcount == 0:
                cur.execute(sql["new_day"], (on, scope, drv.flag(False)))
                cur.execute(sql["book"], book)
            if booking.alert_at is None:
                return False
            alert = (drv.flag(True), on, scope, drv.flag(False), drv.money(booking.alert_at))
            cur.execute(sql["flag_alert"], alert)
            return bool(cur.rowcount == 1)

        try:
            return drv.transaction(work)
        except IntegrityError:
            record = booking.record
            if record is not None and self.usage.exists(record.id):
                return False  # an earlier try committed without our knowing: already done
            raise

    def _book(
        self, conn: Connection, day: date, scope: str, spent: Decimal, released: Decimal
    ) -> None:
        params = {"b_day": day, "b_scope": scope, "b_spent": spent, "b_released": released}
        if conn.execute(_BOOK, params).rowcount == 0:
            self._ensure_day(conn, day, scope)
            conn.execute(_BOOK, params)

    def expire(self, older_than_s: float) -> int:
        """Charge leaked reservations (a crashed or stuck worker's) to their days; how many.

        The attempt may have reached the provider, which bills it, so its reserved worst
        case becomes spent, never returned to the budget; a later settle books the
        difference to the actual cost. Expired rows older than :data:`EXPIRED_KEPT_S` are
        purged. On PostgreSQL one worker expires at a time (the others skip this round).
        """
        now = utcnow()
        cutoff = now - timedelta(seconds=older_than_s)

        # Expired leases first: their open reservations become the day's, to expire below.
        reclaim_expired(self)

        def work(conn: Connection) -> int:
            if self.db.backend == "postgresql":
                lock = text("SELECT pg_try_advisory_xact_lock(:key)")
                if not conn.execute(lock, {"key": _EXPIRY_LOCK_KEY}).scalar_one():
                    return 0
            rows = conn.execute(
                update(_HOLDS)
                .where(
                    _HOLDS.c.created_at < cutoff,
                    _HOLDS.c.expired_at.is_(None),
                    _HOLDS.c.lease_id.is_(None),
                )
                .values(expired_at=now)
                .returning(_HOLDS.c.day, _HOLDS.c.scope, _HOLDS.c.amount)
            ).all()
            per_day: dict[tuple[date, str], Decimal] = {}
            for day, scope, amount in rows:
                per_day[(day, scope)] = per_day.get((day, scope), _ZERO) + amount
            for (day, scope), amount in sorted(per_day.items()):
                self._book(conn, day, scope, amount, amount)
            conn.execute(
                delete(_HOLDS).where(_HOLDS.c.expired_at < now - timedelta(seconds=EXPIRED_KEPT_S))
            )
            return len(rows)

        count = self.db.run(work)
        if count:
            log.warning(
                "expired %d leaked budget reservations (charged at their reserved worst case)",
                count,
            )
        return count

    def day_status(self, day: date, scope: str = "global") -> tuple[Decimal, Decimal]:
        """(spent, reserved) on ``day``.

        What open leases spent counts as spent; the rest of their slices (held or unused)
        counts as reserved, since no other worker can use it until the lease returns.
        """

        def work(conn: Connection) -> tuple[Decimal, Decimal]:
            params = {"b_day": day, "b_scope": scope}
            row = conn.execute(_DAY_STATUS, params).first()
            if row is None:
                return (_ZERO, _ZERO)
            leased = conn.execute(_LEASED_SPENT, params).scalar_one()  # typed as Money
            if not leased:
                return (row[0], row[1])
            return (row[0] + leased, row[1] - leased)

        return self.db.run(work)


def short(
    amount: Decimal, day: date, budget: Decimal, spent: Decimal, reserved: Decimal
) -> LimitExceeded:
    left = max(budget - spent - reserved, _ZERO)
    return LimitExceeded(
        f"daily_budget {money_text(budget)} for {day.isoformat()}: "
        f"{money_text(left)} left (spent {money_text(spent)}, reserved "
        f"{money_text(reserved)}), attempt needs up to {money_text(amount)}",
        limit="daily_budget",
        remaining=left,
        needed=amount,
    )
