"""The attempt's hot path on the database driver itself: fixed SQL, values converted once.

Every attempt reserves and settles, so these two transactions run once per attempt each.
Through SQLAlchemy's ``Connection`` each statement costs far more CPU than the driver's own
work (statement caching, result wrapping, events); here the same SQL runs on a DBAPI
connection from the engine's pool. What SQLAlchemy gives the rest of the ledger is kept:
the pool and its connect events (WAL, busy timeout), ``BEGIN IMMEDIATE`` on SQLite, and
errors raised as SQLAlchemy's ``DBAPIError`` family (``OperationalError``,
``IntegrityError``, ...), a lost connection invalidated and retried once.

Values are stored as SQLAlchemy stores them (``tables.Money``, ``UTCDateTime``): money is a
scaled integer on SQLite and ``Numeric`` on PostgreSQL, times are naive UTC text on SQLite.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from ..errors import StoreError
from .connect import db_reason
from .database import Database
from .records import UsageRecord
from .tables import money_to_db

__all__ = ["Driver"]

T = TypeVar("T")

_SQL = {
    "hold": "UPDATE budget_days SET reserved = reserved + ? WHERE day = ? AND scope = ?",
    "hold_within": (
        "UPDATE budget_days SET reserved = reserved + ? WHERE day = ? AND scope = ? "
        "AND spent + reserved + ? <= ?"
    ),
    "new_day": (
        "INSERT INTO budget_days (day, scope, spent, reserved, alerted) "
        "VALUES (?, ?, 0, 0, ?) ON CONFLICT DO NOTHING"
    ),
    "day_status": "SELECT spent, reserved FROM budget_days WHERE day = ? AND scope = ?",
    "new_hold": (
        "INSERT INTO budget_reservations (day, scope, amount, execution_id, created_at) "
        "VALUES (?, ?, ?, ?, ?) RETURNING id"
    ),
    "take_hold": (
        "DELETE FROM budget_reservations WHERE id = ? "
        "RETURNING day, scope, amount, expired_at, lease_id"
    ),
    # Leases (budget_leases.py): a hold settled inside its worker's lease, never the day row.
    "lock_lease_of": (
        "SELECT id FROM budget_leases WHERE id = "
        "(SELECT lease_id FROM budget_reservations WHERE id = ?) FOR UPDATE"
    ),
    "settle_in_lease": (
        "UPDATE budget_leases SET held = held - ?, spent = spent + ? WHERE id = ? "
        "AND returned_at IS NULL"
    ),
    "flag_alert_leased": (
        "UPDATE budget_days SET alerted = ? WHERE day = ? AND scope = ? AND alerted = ? "
        "AND spent + (SELECT COALESCE(SUM(spent), 0) FROM budget_leases "
        "WHERE day = ? AND scope = ? AND returned_at IS NULL) >= ?"
    ),
    "book": (
        "UPDATE budget_days SET spent = spent + ?, reserved = reserved - ? "
        "WHERE day = ? AND scope = ?"
    ),
    "flag_alert": (
        "UPDATE budget_days SET alerted = ? WHERE day = ? AND scope = ? AND alerted = ? "
        "AND spent >= ?"
    ),
    "usage": (
        "INSERT INTO model_usage (id, execution_id, node_id, model_name, provider, "
        "prompt_tokens, completion_tokens, total_tokens, cost, latency_ms, status, error_type, "
        "attempt, is_fallback, price_version, created_at, usage_anomaly, step_run, task_type, "
        "cost_preference, config_hash, routing) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ),
}


class Driver:
    """The reserve and settle statements of one database, run on its DBAPI connections."""

    def __init__(self, db: Database) -> None:
        self.db = db
        dialect = db.engine.dialect
        self.sqlite = dialect.name == "sqlite"
        self._dialect = dialect
        self._error: type[Exception] = dialect.loaded_dbapi.Error
        self.sql = dict(_SQL) if self.sqlite else {k: v.replace("?", "%s") for k, v in _SQL.items()}
        if not self.sqlite:  # psycopg sends a str as text, which a json column does not take
            head, _, tail = self.sql["usage"].rpartition("%s)")
            self.sql["usage"] = f"{head}CAST(%s AS JSON)){tail}"

    # -- values as stored -------------------------------------------------------------------

    def money(self, value: Decimal) -> Any:
        """``value`` as the Money column stores it on this backend."""
        return money_to_db(value, sqlite=self.sqlite)

    def money_from(self, stored: Any) -> Decimal:
        """A stored Money value as Decimal (scaled integer on SQLite)."""
        return Decimal(int(stored)).scaleb(-10) if self.sqlite else Decimal(stored)

    def day(self, value: date) -> Any:
        return value.isoformat() if self.sqlite else value

    def time(self, value: datetime) -> Any:
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware UTC times only")
        utc = value.astimezone(UTC)
        if not self.sqlite:
            return utc
        return utc.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")

    def flag(self, value: bool) -> Any:
        return int(value) if self.sqlite else value

    def usage_row(self, record: UsageRecord) -> tuple[Any, ...]:
        return (
            record.id,
            record.execution_id,
            record.node_id,
            record.model_name,
            record.provider,
            record.prompt_tokens,
            record.completion_tokens,
            record.total_tokens,
            self.money(record.cost),
            record.latency_ms,
            record.status,
            record.error_type,
            record.attempt,
            self.flag(record.is_fallback),
            record.price_version,
            self.time(record.created_at),
            record.usage_anomaly,
            record.step_run,
            record.task_type,
            record.cost_preference,
            record.config_hash,
            self.routing(record),
        )

    def routing(self, record: UsageRecord) -> Any:
        """The step's routing as the JSON column stores it (None stays NULL)."""
        if record.routing is None:
            return None
        return json.dumps(dict(record.routing))

    # -- transactions ------------------------------------------------------------------------

    def transaction(self, work: Callable[[Any], T]) -> T:
        """Run ``work(cursor)`` in one transaction; a stale pooled connection is retried once.

        Driver errors surface as SQLAlchemy's ``DBAPIError`` subclasses, as they would
        through a SQLAlchemy ``Connection``.
        """
        self.db.ensure_ready()
        try:
            return self._once(work)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        return self._once(work)

    def run(self, work: Callable[[Any], T], failed: str) -> T:
        """:meth:`transaction`, its failures as ``StoreError`` (``failed``, the URL, why), as
        ``Database.run`` raises them. A ``ValueError`` is a value that cannot be stored."""
        try:
            return self.transaction(work)
        except (SQLAlchemyError, ValueError) as exc:
            raise StoreError(f"{failed} ({self.db.url}): {db_reason(exc)}") from exc

    def _once(self, work: Callable[[Any], T]) -> T:
        with self._translated(None):
            raw = self.db.engine.raw_connection()
        try:
            with self._translated(raw):
                cursor = raw.cursor()
                try:
                    if self.sqlite:
                        cursor.execute("BEGIN IMMEDIATE")
                    result = work(cursor)
                    raw.commit()
                    return result
                except BaseException:
                    with contextlib.suppress(Exception):
                        raw.rollback()
                    raise
                finally:
                    with contextlib.suppress(Exception):
                        cursor.close()
        finally:
            raw.close()  # back to the pool (or discarded when invalidated)

    @contextlib.contextmanager
    def _translated(self, raw: Any) -> Iterator[None]:
        """Driver errors as SQLAlchemy's; a lost connection is invalidated (not pooled again)."""
        try:
            yield
        except self._error as exc:
            if raw is None:  # connecting failed: nothing to invalidate, nothing to retry
                lost = False
            else:
                lost = self._dialect.is_disconnect(exc, raw.driver_connection, None)  # type: ignore[arg-type]
                if lost:
                    raw.invalidate(exc)
            raise DBAPIError.instance(
                None,
                None,
                exc,
                self._error,
                connection_invalidated=lost,
                dialect=self._dialect,
            ) from exc
