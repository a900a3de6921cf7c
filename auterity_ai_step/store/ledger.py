"""The usage ledger: every read and write of usage rows, budget days and reservations.

Reservations are atomic in the database, so workers sharing it can never together overspend:
PostgreSQL runs a conditional ``UPDATE ... WHERE spent + reserved + :amount <= :budget``
(the row lock serialises concurrent updates, which re-check the condition); SQLite runs every
transaction as ``BEGIN IMMEDIATE`` (one writer at a time, across processes) in WAL mode.
A reservation is one transaction; settling it with its usage row is one more.

Writes after a paid call never lose a row: when one fails, for whatever reason, it goes to
an outbox (``outbox.py``) with the reason and is replayed on the next write or by
:meth:`Ledger.flush_pending`; the caller hears of it (``on_deferred``). Records are storable
by construction (``records.py``), so a failure is the database's, not the values'.

A reservation older than any live step is *expired*: its worst case is charged to the day as
spent (the attempt may have reached the provider, which bills it), and the row is kept with
``expired_at`` set. A later settle of the same attempt (a slow step, an outbox replay)
deletes the row and books only ``actual - reserved``. Both statements take the
reservation's row lock (PostgreSQL) or the one write lock (SQLite), so whichever commits
second sees the first's result: the day is charged exactly once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, delete, inspect, literal, select, text
from sqlalchemy import insert as sa_insert
from sqlalchemy import update as sa_update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from ..errors import LimitExceeded, StoreError
from ..money.prices import money_text
from . import queries, replays, whatif_rows
from .connect import db_reason, default_spool, ledger_engine, ledger_url, unreachable
from .outbox import Outbox
from .records import COLUMN_SIZES, UsageRecord, storable_text, usage_dict
from .replays import Claim
from .schema import ensure_schema
from .tables import (
    BudgetDay,
    BudgetReservation,
    ModelConfiguration,
    ModelUsage,
    Money,
    utcnow,
)

__all__ = ["Ledger", "UsageRecord", "stored_model_configurations"]

log = logging.getLogger("auterity_ai_step.store")
T = TypeVar("T")
_MONEY = Money()
#: How often writes retry outbox entries the database refused (not ones it could not reach).
REFUSED_RETRY_S = 30.0
#: Expired reservations are kept this long for a late settle to correct, then purged.
EXPIRED_KEPT_S = 7 * 24 * 3600
# Only one worker expires reservations at a time (PostgreSQL advisory lock key: "EXPIRE").
_EXPIRY_LOCK_KEY = 0x45_5850_4952_45


def _money(value: Any) -> ColumnElement[Any]:
    return literal(value, _MONEY)


class Ledger:
    """Usage rows, budgets and model configurations in one SQL database (SQLite or PostgreSQL).

    With ``create_tables`` (the default) the first use of a database that Alembic does not
    manage yet creates the missing tables and records the head revision in the ledger's own
    version table (``auterity_ai_step_alembic_version``), so the shipped migration's
    ``upgrade head`` has nothing left to do. ``create_tables=False`` creates nothing.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        create_tables: bool = True,
        spool_path: str | Path | None = None,
    ) -> None:
        if url is None:
            from ..settings import database_url

            url = database_url()
        parsed = ledger_url(url)
        self.backend = parsed.get_backend_name()
        self.engine = ledger_engine(parsed)
        self.url = parsed.render_as_string(hide_password=True)
        self.outbox = Outbox(Path(spool_path) if spool_path else default_spool(parsed))
        self._create_tables = create_tables
        self._ready = False
        self._ready_lock = threading.Lock()
        # When only refused entries wait, writes retry them at most this often (monotonic).
        self._next_retry_of_refused = 0.0

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()

    # -- plumbing ------------------------------------------------------------------------

    def _ensure_ready(self) -> None:
        if self._ready:
            return
        with self._ready_lock:
            if self._ready or not self._create_tables:
                self._ready = True
                return
            try:
                ensure_schema(self.engine)
            except IntegrityError:  # another process created them at the same moment
                ensure_schema(self.engine)
            self._ready = True

    def _transaction(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one transaction; reconnect once if a pooled connection went stale."""
        self._ensure_ready()
        try:
            with self.engine.begin() as conn:
                return work(conn)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        with self.engine.begin() as conn:
            return work(conn)

    def _run(self, work: Callable[[Connection], T]) -> T:
        """One transaction whose database failures surface as ``StoreError``."""
        try:
            return self._transaction(work)
        except SQLAlchemyError as exc:
            raise StoreError(f"ledger database failed ({self.url}): {db_reason(exc)}") from exc

    def _insert(self) -> Callable[..., Any]:
        return pg_insert if self.backend == "postgresql" else sqlite_insert

    def _ensure_day(self, conn: Connection, day: date, scope: str) -> None:
        stmt = self._insert()(BudgetDay).values(
            day=day, scope=scope, spent=0, reserved=0, alerted=False
        )
        conn.execute(stmt.on_conflict_do_nothing())

    # -- budget reservations ---------------------------------------------------------------

    def reserve(
        self,
        amount: Decimal,
        *,
        day: date,
        daily_budget: Decimal | None,
        execution_id: str | None = None,
        scope: str = "global",
    ) -> int:
        """Atomically reserve ``amount`` on ``day``; ``LimitExceeded`` if the budget is short."""
        if not (amount.is_finite() and amount >= 0):
            raise ValueError(f"a reservation must be >= 0 US dollars (got {amount})")

        def work(conn: Connection) -> int:
            where = (BudgetDay.day == day, BudgetDay.scope == scope)
            stmt = sa_update(BudgetDay).where(*where)
            if daily_budget is not None:
                total = BudgetDay.spent + BudgetDay.reserved + _money(amount)
                stmt = stmt.where(total <= _money(daily_budget))
            stmt = stmt.values(reserved=BudgetDay.reserved + _money(amount))
            if conn.execute(stmt).rowcount == 0:
                self._ensure_day(conn, day, scope)
                if conn.execute(stmt).rowcount == 0:
                    assert daily_budget is not None
                    spent, reserved = conn.execute(
                        select(BudgetDay.spent, BudgetDay.reserved).where(*where)
                    ).one()
                    left = max(daily_budget - spent - reserved, Decimal(0))
                    raise LimitExceeded(
                        f"daily_budget {money_text(daily_budget)} for {day.isoformat()}: "
                        f"{money_text(left)} left (spent {money_text(spent)}, reserved "
                        f"{money_text(reserved)}), attempt needs up to {money_text(amount)}",
                        limit="daily_budget",
                        remaining=left,
                        needed=amount,
                    )
            new_id = conn.execute(
                sa_insert(BudgetReservation)
                .values(
                    day=day,
                    scope=scope,
                    amount=amount,
                    execution_id=storable_text(execution_id, COLUMN_SIZES["execution_id"]),
                    created_at=utcnow(),
                )
                .returning(BudgetReservation.id)
            ).scalar_one()
            return int(new_id)

        try:
            return self._transaction(work)
        except SQLAlchemyError as exc:
            raise StoreError(f"could not reserve budget ({self.url}): {db_reason(exc)}") from exc

    def _take_reservation(
        self, conn: Connection, reservation_id: int | None
    ) -> tuple[date, str, Decimal, bool] | None:
        """Delete the reservation: (day, scope, amount, whether it had expired), or None."""
        if reservation_id is None:
            return None
        row = conn.execute(
            delete(BudgetReservation)
            .where(BudgetReservation.id == reservation_id)
            .returning(
                BudgetReservation.day,
                BudgetReservation.scope,
                BudgetReservation.amount,
                BudgetReservation.expired_at,
            )
        ).first()
        return None if row is None else (row[0], row[1], row[2], row[3] is not None)

    def _book(
        self, conn: Connection, day: date, scope: str, spent: Decimal, released: Decimal
    ) -> None:
        stmt = (
            sa_update(BudgetDay)
            .where(BudgetDay.day == day, BudgetDay.scope == scope)
            .values(
                spent=BudgetDay.spent + _money(spent),
                reserved=BudgetDay.reserved - _money(released),
            )
        )
        if conn.execute(stmt).rowcount == 0:
            self._ensure_day(conn, day, scope)
            conn.execute(stmt)

    def _insert_usage(self, conn: Connection, record: UsageRecord) -> None:
        conn.execute(sa_insert(ModelUsage).values(**record.to_row()))

    def _apply(
        self,
        op: str,
        reservation_id: int | None,
        record: UsageRecord | None,
        day: date | None,
        scope: str,
        alert_at: Decimal | None,
    ) -> bool:
        """The write behind settle/release/record (also what the outbox replays)."""

        def work(conn: Connection) -> bool:
            if record is not None:
                self._insert_usage(conn, record)
            taken = self._take_reservation(conn, reservation_id)
            book_day, book_scope, held, expired = taken or (day, scope, Decimal(0), False)
            cost = record.cost if (record is not None and op != "release") else Decimal(0)
            # An expired reservation was charged as spent and released already: correct it.
            spent, released = (cost - held, Decimal(0)) if expired else (cost, held)
            if book_day is None or (spent == 0 and released == 0):
                return False
            self._book(conn, book_day, book_scope, spent, released)
            if alert_at is None:
                return False
            flagged = conn.execute(
                sa_update(BudgetDay)
                .where(
                    BudgetDay.day == book_day,
                    BudgetDay.scope == book_scope,
                    BudgetDay.alerted.is_(False),
                    BudgetDay.spent >= _money(alert_at),
                )
                .values(alerted=True)
            )
            return flagged.rowcount == 1

        try:
            return self._transaction(work)
        except IntegrityError:
            if record is not None and self._usage_exists(record.id):
                return False  # an earlier try committed without our knowing: already done
            raise

    def _usage_exists(self, usage_id: str) -> bool:
        with self.engine.connect() as conn:
            found = conn.execute(select(ModelUsage.id).where(ModelUsage.id == usage_id)).first()
            return found is not None

    def _write(
        self,
        op: str,
        reservation_id: int | None,
        record: UsageRecord | None,
        day: date | None,
        scope: str,
        alert_at: Decimal | None,
        on_deferred: Callable[[str], None] | None,
    ) -> bool:
        """Write now, or keep the write in the outbox with the reason and say so.

        Whatever the database answers, a paid call's row is never dropped: an unreachable
        database and a refused statement alike leave the write in the outbox, its
        reservation stays in the database (expiry charges it if no replay settles it first),
        and ``on_deferred`` hears the reason.
        """
        if self.outbox.has_pending() and time.monotonic() >= self._next_retry_of_refused:
            self.flush_pending()
        try:
            return self._apply(op, reservation_id, record, day, scope, alert_at)
        except SQLAlchemyError as exc:
            reason = db_reason(exc)
            if unreachable(exc):
                log.warning(
                    "ledger database unreachable (%s); %s kept in the outbox %s",
                    exc.__class__.__name__,
                    op,
                    self.outbox.path,
                )
            else:
                log.error(
                    "ledger write refused (%s); %s kept in the outbox %s",
                    exc.__class__.__name__,
                    op,
                    self.outbox.path,
                )
            self.outbox.add(
                {
                    "op": op,
                    "reservation_id": reservation_id,
                    "record": None if record is None else record.to_data(),
                    "day": None if day is None else day.isoformat(),
                    "scope": scope,
                    "reason": reason,
                }
            )
            if on_deferred is not None:
                on_deferred(reason)
            return False

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
        """Turn a reservation into the attempt's actual cost and write its row, atomically.

        ``day`` books the cost when there is no reservation (or it was purged). An expired
        reservation was charged at its amount: this books the difference. Returns True when
        this settle pushed the day's spend past ``alert_at`` first (the ``alerted`` flag is
        set by a conditional UPDATE, so exactly one worker sees True). When the write has to
        wait in the outbox, ``on_deferred`` is called with the reason.
        """
        return self._write("settle", reservation_id, record, day, scope, alert_at, on_deferred)

    def release(
        self,
        reservation_id: int | None,
        record: UsageRecord | None = None,
        *,
        on_deferred: Callable[[str], None] | None = None,
    ) -> None:
        """Drop a reservation of an attempt that cost nothing, writing its row if given."""
        self._write("release", reservation_id, record, None, "global", None, on_deferred)

    def record(
        self,
        record: UsageRecord,
        *,
        day: date | None = None,
        scope: str = "global",
        on_deferred: Callable[[str], None] | None = None,
    ) -> None:
        """Write one usage row (no reservation); with ``day`` its cost counts as spent."""
        self._write("record", None, record, day, scope, None, on_deferred)

    def flush_pending(self) -> int:
        """Write what the outbox holds; returns how many entries were written."""

        def apply(entry: dict[str, Any]) -> None:
            record = entry.get("record")
            self._apply(
                entry["op"],
                entry.get("reservation_id"),
                None if record is None else UsageRecord.from_data(record),
                date.fromisoformat(entry["day"]) if entry.get("day") else None,
                entry.get("scope", "global"),
                None,
            )

        written = self.outbox.drain(apply, stop=unreachable)
        if self.outbox.refused and not written:
            # Only writes the database refuses are left: retrying them before every write
            # would cost each write a failed transaction and a rewrite of the spool file.
            self._next_retry_of_refused = time.monotonic() + REFUSED_RETRY_S
        else:
            self._next_retry_of_refused = 0.0
        if written:
            log.info("ledger outbox: wrote %d pending entries", written)
        return written

    def expire_reservations(self, older_than_s: float) -> int:
        """Charge leaked reservations (a crashed or stuck worker's) to their days; how many.

        The attempt may have reached the provider, which bills it, so its reserved worst
        case becomes spent, never returned to the budget; a later settle books the
        difference to the actual cost. Expired rows older than :data:`EXPIRED_KEPT_S` are
        purged. On PostgreSQL one worker expires at a time (the others skip this round).
        """
        now = utcnow()
        cutoff = now - timedelta(seconds=older_than_s)

        def work(conn: Connection) -> int:
            if self.backend == "postgresql":
                lock = text("SELECT pg_try_advisory_xact_lock(:key)")
                if not conn.execute(lock, {"key": _EXPIRY_LOCK_KEY}).scalar_one():
                    return 0
            rows = conn.execute(
                sa_update(BudgetReservation)
                .where(
                    BudgetReservation.created_at < cutoff,
                    BudgetReservation.expired_at.is_(None),
                )
                .values(expired_at=now)
                .returning(BudgetReservation.day, BudgetReservation.scope, BudgetReservation.amount)
            ).all()
            per_day: dict[tuple[date, str], Decimal] = {}
            for day, scope, amount in rows:
                per_day[(day, scope)] = per_day.get((day, scope), Decimal(0)) + amount
            for (day, scope), amount in sorted(per_day.items()):
                self._book(conn, day, scope, amount, amount)
            conn.execute(
                delete(BudgetReservation).where(
                    BudgetReservation.expired_at < now - timedelta(seconds=EXPIRED_KEPT_S)
                )
            )
            return len(rows)

        count = self._run(work)
        if count:
            log.warning(
                "expired %d leaked budget reservations (charged at their reserved worst case)",
                count,
            )
        return count

    # -- queries ----------------------------------------------------------------------------

    def day_status(self, day: date, scope: str = "global") -> tuple[Decimal, Decimal]:
        """(spent, reserved) on ``day``."""

        def work(conn: Connection) -> tuple[Decimal, Decimal]:
            row = conn.execute(
                select(BudgetDay.spent, BudgetDay.reserved).where(
                    BudgetDay.day == day, BudgetDay.scope == scope
                )
            ).first()
            return (Decimal(0), Decimal(0)) if row is None else (row[0], row[1])

        return self._run(work)

    def execution_usage(self, execution_id: str) -> list[dict[str, Any]]:
        """Every attempt recorded against one execution, oldest first."""
        stored = storable_text(execution_id, COLUMN_SIZES["execution_id"])
        stmt = (
            select(*ModelUsage.__table__.columns)
            .where(ModelUsage.execution_id == stored)
            .order_by(ModelUsage.created_at, ModelUsage.attempt)
        )
        return self._run(lambda conn: [usage_dict(row._mapping) for row in conn.execute(stmt)])

    def totals(self, days: int, model: str | None = None) -> dict[str, Any]:
        """Calls, tokens and cost by model and by UTC day for the last ``days`` days."""
        if days < 1:
            raise ValueError("days must be at least 1")
        return self._run(lambda conn: queries.totals(conn, self.backend, days, model))

    def usage_series(self, days: int, group_by: str = "model") -> list[dict[str, Any]]:
        """Usage per UTC day and per model (``group_by="model"``) or provider."""
        return self._run(lambda conn: queries.usage_series(conn, self.backend, days, group_by))

    def model_performance(self, days: int) -> list[dict[str, Any]]:
        """Per model: calls, errors, fallbacks and p50/p95 latency over ``days`` days."""
        return self._run(lambda conn: queries.model_performance(conn, days))

    def top_costs(self, days: int, by: str, limit: int = 5) -> list[dict[str, Any]]:
        """The executions (``by="execution"``) or nodes (``"node"``) that cost most."""
        return self._run(lambda conn: queries.top_costs(conn, days, by, limit))

    def recorded_attempts(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        execution_id: str | None = None,
    ) -> list[whatif_rows.RecordedAttempt]:
        """The attempts a ``whatif`` replay reads, oldest first (replayed steps left out)."""
        return self._run(
            lambda conn: list(
                whatif_rows.recorded_attempts(
                    conn, since=since, until=until, execution_id=execution_id
                )
            )
        )

    def budget_spent_between(self, first: date, last: date, scope: str = "global") -> Decimal:
        """What the budget booked as spent from ``first`` to ``last``, both included."""
        return self._run(lambda conn: queries.budget_spent_between(conn, first, last, scope))

    def model_configurations(self) -> tuple[str, dict[str, dict[str, Any]]]:
        """(version token, {name: config}) of the active rows; the token changes with them."""
        return self._run(queries.model_configurations)

    def put_model_configurations(self, configs: Mapping[str, Mapping[str, Any]]) -> None:
        """Replace all model configurations in one transaction (validate them first)."""
        self._run(lambda conn: queries.put_model_configurations(conn, configs))

    # -- step replays (see replays.py) -----------------------------------------------------

    def claim_step(
        self,
        key: str,
        *,
        owner: str,
        execution_id: str | None,
        node_id: str | None,
        stale_after_s: float,
    ) -> Claim:
        """Claim a step's key before running it: ours, a recorded answer, or busy."""
        return self._run(
            lambda conn: replays.claim(
                conn,
                key,
                owner=owner,
                execution_id=execution_id,
                node_id=node_id,
                stale_after_s=stale_after_s,
            )
        )

    def finish_step(self, key: str, *, owner: str, output: dict[str, Any]) -> bool:
        """Keep a succeeded step's answer for re-runs; False if the claim was lost."""
        return self._run(lambda conn: replays.finish(conn, key, owner=owner, output=output))

    def abandon_step(self, key: str, *, owner: str) -> None:
        """Give up a failed step's claim so that a retry runs it again."""
        self._run(lambda conn: replays.abandon(conn, key, owner=owner))

    def record_replay(self, key: str, record: UsageRecord) -> None:
        """Count a re-run answered from ``key`` and write its usage row (cost 0), together."""

        def work(conn: Connection) -> None:
            replays.note_replay(conn, key)
            self._insert_usage(conn, record)

        self._run(work)


def stored_model_configurations(
    url: str | None = None,
) -> tuple[str, dict[str, dict[str, Any]]] | None:
    """The ledger's model configurations, as :meth:`Ledger.model_configurations` gives them,
    read without creating anything: no database file, directory or table.

    For readers that must not create a ledger as a side effect (the CLI's contract commands).
    ``url`` defaults to ``settings.database_url()``. ``None`` when there is nothing to read:
    a SQLite URL whose file does not exist (or an in-memory one), or a database without the
    ``model_configurations`` table. StoreError, naming the database (password hidden) and
    the problem, when it cannot be read.
    """
    if url is None:
        from ..settings import database_url

        url = database_url(create_dir=False)
    parsed = ledger_url(url)
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if not database or database == ":memory:" or not Path(database).is_file():
            return None
    engine = ledger_engine(parsed)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table(ModelConfiguration.__tablename__):
                return None
            return queries.model_configurations(conn)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read the ledger database {shown}: {db_reason(exc)}") from exc
    finally:
        engine.dispose()
