"""Engines for the ledger: SQLite serialised with BEGIN IMMEDIATE in WAL mode, PostgreSQL.

Also where a ledger keeps its outbox, and which failures count as "database unreachable".
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, SQLAlchemyError

from ..errors import StoreError, redact
from ..extras import missing_extra_message

__all__ = ["default_spool", "ledger_engine", "ledger_url", "sqlite_engine", "unreachable"]


def db_reason(exc: BaseException) -> str:
    """The database's own reason in one line: ``OperationalError: connection ... refused``.

    SQLAlchemy's text repeats the driver's class, adds hints on further lines and a link to
    its docs; users and logs need the first line of the driver's message only.
    """
    orig = getattr(exc, "orig", None) or exc
    lines = [line for line in str(orig).splitlines() if line.strip()]
    first = lines[0].strip() if lines else ""
    return f"{type(orig).__name__}: {first}" if first else type(orig).__name__


def unreachable(exc: BaseException) -> bool:
    """A connection-level failure (worth spooling), not a bug in the statement."""
    return isinstance(exc, OperationalError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


def ledger_url(url: str) -> URL:
    """A ledger URL parsed, ``postgresql://`` meaning the psycopg (3) driver.

    StoreError when it is not a URL; the message never repeats it (it may hold a password).
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise StoreError(
            "the ledger database URL is not a valid SQLAlchemy URL (expected "
            "sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DATABASE)"
        ) from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def ledger_engine(url: URL) -> Engine:
    """The engine for a parsed ledger URL (it connects to nothing yet).

    StoreError for a backend other than these two, a driver that is not installed, or a
    SQLite directory that cannot be created.
    """
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise StoreError(f"unsupported database {backend!r}: use SQLite or PostgreSQL")
    try:
        if backend == "sqlite":
            return sqlite_engine(url)
        return create_engine(url, connect_args={"connect_timeout": 5})
    except ImportError as exc:  # the driver is not installed: name the extra that has it
        shown = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[backend]
        raise StoreError(missing_extra_message(exc, f"a {shown} ledger")) from exc
    except SQLAlchemyError as exc:
        said = redact(" ".join(str(exc).split()))  # the driver's words, any password hidden
        raise StoreError(f"cannot open the ledger database: {said}") from exc
    except OSError as exc:  # the SQLite file's directory cannot be created
        where = f": {exc.filename}" if exc.filename else ""
        raise StoreError(f"cannot open the ledger database: {exc.strerror or exc}{where}") from exc


def sqlite_engine(url: Any) -> Engine:
    database = url.database
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver must not open transactions itself: ours start with BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        _wal(cursor)
        for pragma in ("synchronous=NORMAL", "busy_timeout=30000"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _wal(cursor: Any) -> None:
    """Switch the file to WAL (a setting the file keeps) unless it is already.

    Switching needs the file to itself, and SQLite answers "database is locked" at once,
    without the busy timeout, while another connection holds a lock: processes opening a
    new file together retry for a few seconds instead of failing their first use.
    """
    delays = iter((0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0))
    while True:
        try:
            row = cursor.execute("PRAGMA journal_mode").fetchone()
            if row is None or str(row[0]).lower() not in ("wal", "memory"):
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            delay = next(delays, None)
            if delay is None or "locked" not in str(exc):
                raise
            time.sleep(delay)


def default_spool(url: Any) -> Path | None:
    if url.get_backend_name() == "sqlite":
        database = url.database
        if not database or database == ":memory:":
            return None
        return Path(database).expanduser().with_name(Path(database).name + ".outbox.jsonl")
    from ..settings import default_database_path

    safe = url.render_as_string(hide_password=True)
    digest = hashlib.sha256(safe.encode()).hexdigest()[:12]
    return default_database_path().with_name(f"outbox-{digest}.jsonl")
