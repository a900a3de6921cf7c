"""Engines for the ledger: SQLite serialised with BEGIN IMMEDIATE in WAL mode, PostgreSQL.

Also where a ledger keeps its outbox, and which failures count as "database unreachable".
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from ..errors import StoreError

__all__ = ["default_spool", "ledger_engine", "ledger_url", "sqlite_engine", "unreachable"]


def unreachable(exc: BaseException) -> bool:
    """A connection-level failure (worth spooling), not a bug in the statement."""
    return isinstance(exc, OperationalError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


def ledger_url(url: str) -> URL:
    """A ledger URL parsed, ``postgresql://`` meaning the psycopg (3) driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def ledger_engine(url: URL) -> Engine:
    """The engine for a parsed ledger URL; StoreError for a backend other than these two."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        return sqlite_engine(url)
    if backend == "postgresql":
        return create_engine(url, connect_args={"connect_timeout": 5})
    raise StoreError(f"unsupported database {backend!r}: use SQLite or PostgreSQL")


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
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


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
