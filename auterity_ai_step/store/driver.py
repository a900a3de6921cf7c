"""The attempt's hot path on the database driver itself: fixed SQL, values converted once.

Every attempt reserves and settles, so these two transactions run once per attempt each.
Through SQLAlchemy's ``Connection`` each statement costs far more CPU than the driver's own
work (statement caching, result wrapping, events); here the same SQL runs on a DBAPI
connection from the engine's pool. What SQLAlchemy gives the rest of the ledger is kept:
the pool and its connect events (WAL, busy timeout), ``BEGIN IMMEDIATE`` on SQLite, and
errors raised as SQLAlchemy's ``DBAPIError`` family (``OperationalError``,
``IntegrityError``, ...), a lost connection invalidated and retried once.

On a SQLite file a transaction may also run *quickly*, on the calling (event-loop) thread
inside a quick scope (:mod:`..nowait`): on one connection kept for it, with no busy
timeout, so a lock held by another writer refuses at once (``WouldWait``, nothing changed)
instead of waiting. That connection does not checkpoint the WAL on commit (a checkpoint
writes and syncs pages: milliseconds); a background thread checkpoints every
``CHECKPOINT_EVERY`` quick commits instead, while quick writes pause, so that the copy
completes and the WAL starts over as it does with SQLite's own checkpoints.

Values are stored as SQLAlchemy stores them (``tables.Money``, ``UTCDateTime``): money is a
scaled integer on SQLite and ``Numeric`` on PostgreSQL, times are naive UTC text on SQLite.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from .. import nowait
from ..errors import StoreError
from .connect import db_reason
from .database import Database
from .records import UsageRecord
from .tables import money_to_db

__all__ = ["Driver"]

T = TypeVar("T")

log = logging.getLogger("auterity_ai_step.store")

#: Quick commits between two background WAL checkpoints (SQLite's own default is about
#: 1,000 pages; a step's four commits write a handful of pages each).
CHECKPOINT_EVERY = 256
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6

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
        database = db.parsed.database
        #: Whether quick transactions are possible at all: a SQLite file (not in memory).
        self.quick_possible = self.sqlite and bool(database) and database != ":memory:"
        self._quick_lock = threading.Lock()
        self._quick_raw: Any = None
        self._quick_commits = 0
        self._checkpointing = threading.Event()
        self._closed = False

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
        through a SQLAlchemy ``Connection``. Inside a quick scope that has changed nothing
        yet, the transaction runs quickly or refuses (``WouldWait``).
        """
        if nowait.armed():
            return self._quick(work)
        self.db.ensure_ready()
        try:
            result = self._once(work)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            result = self._once(work)
        if self.quick_possible and self._quick_raw is None:
            self._open_quick()  # here, off the loop: connecting may wait
        return result

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

    # -- quick transactions (SQLite file, the caller's thread, never waiting) -----------------

    def _open_quick(self) -> None:
        """Keep one pooled connection for quick transactions: no busy timeout, no WAL
        checkpoint on commit. Never raises: the transaction before it has committed, and
        without this connection every call simply runs in a thread."""
        with self._quick_lock:
            if self._quick_raw is not None or self._closed:
                return
            try:
                raw = self.db.engine.raw_connection()
            except Exception as exc:
                log.debug("no quick ledger connection: %s", exc.__class__.__name__)
                return
            try:
                cursor = raw.driver_connection.cursor()  # type: ignore[union-attr]
                cursor.execute("PRAGMA busy_timeout=0")
                cursor.execute("PRAGMA wal_autocheckpoint=0")
                cursor.close()
            except Exception as exc:
                log.debug("no quick ledger connection: %s", exc.__class__.__name__)
                with contextlib.suppress(Exception):
                    raw.invalidate()
                return
            self._quick_raw = raw

    def _quick(self, work: Callable[[Any], T]) -> T:
        """``work(cursor)`` on the quick connection, or ``WouldWait`` before any change."""
        raw = self._quick_raw
        if raw is None:  # not opened yet (the first calls open it, in threads)
            raise nowait.WouldWait
        if not self._quick_lock.acquire(blocking=False):  # a checkpoint is copying the WAL
            raise nowait.WouldWait(busy=True)
        try:
            if self._quick_raw is not raw:  # closed meanwhile
                raise nowait.WouldWait
            conn = raw.driver_connection
            before = conn.total_changes
            try:
                with self._translated(raw):
                    result = self._quick_once(conn, work)
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
                # Lost (as the thread path, which retries once on a new connection): the
                # thread runs it, and the next thread call opens another quick connection.
                self._quick_raw = None
                raise nowait.WouldWait from None
            if conn.total_changes != before:
                nowait.changed()
            self._quick_commits += 1
            if self._quick_commits % CHECKPOINT_EVERY == 0:
                self._checkpoint_soon()
            return result
        finally:
            self._quick_lock.release()

    def _quick_once(self, conn: Any, work: Callable[[Any], T]) -> T:
        cursor = conn.cursor()
        try:
            try:
                cursor.execute("BEGIN IMMEDIATE")
            except self._error as exc:
                if _busy(exc):  # another writer holds the file: wait in a thread instead
                    raise nowait.WouldWait(busy=True) from None
                raise
            try:
                result = work(cursor)
                conn.commit()
                return result
            except BaseException as exc:
                with contextlib.suppress(Exception):
                    conn.rollback()
                if isinstance(exc, self._error) and _busy(exc):
                    raise nowait.WouldWait(busy=True) from None
                raise
        finally:
            with contextlib.suppress(Exception):
                cursor.close()

    def _checkpoint_soon(self) -> None:
        """Checkpoint the WAL in a background thread (one at a time)."""
        if self._checkpointing.is_set():
            return
        self._checkpointing.set()
        threading.Thread(
            target=self._checkpoint, name="auterity-ledger-checkpoint", daemon=True
        ).start()

    def _checkpoint(self) -> None:
        try:
            raw = self.db.engine.raw_connection()
            try:
                # Quick writes pause while the WAL is copied (they find the quick lock taken:
                # busy), so the copy completes and the next write starts the WAL over; a
                # copy racing the loop's writes would never complete, and the WAL would only
                # grow. PASSIVE waits for no reader, so a long report cannot hold writers up
                # (RESTART would, for as long as the busy timeout).
                with self._quick_lock:
                    raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")  # type: ignore[union-attr]
            finally:
                raw.close()
        except Exception as exc:  # the next checkpoint, or any other connection's, will do
            log.debug("WAL checkpoint skipped: %s", exc.__class__.__name__)
        finally:
            self._checkpointing.clear()

    def close(self) -> None:
        """Close the quick connection (the pool's connections are the database's)."""
        with self._quick_lock:
            raw, self._quick_raw, self._closed = self._quick_raw, None, True
        if raw is not None:
            with contextlib.suppress(Exception):
                raw.invalidate()  # closes it for good rather than pooling a no-wait connection

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


def _busy(exc: Exception) -> bool:
    """SQLite's "database is locked" (busy, or locked by a connection of this process)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    return "locked" in str(exc)  # pragma: no cover - sqlite3 before Python 3.11
