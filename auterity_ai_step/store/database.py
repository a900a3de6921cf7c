"""One ledger database: its engine, its tables made ready once, and a transaction helper.

Every part of the ledger (the budget book, usage rows, reports, configurations, step
claims) runs its statements through one :class:`Database`, so they share the engine, the
one-time table creation and the reconnect-once rule for stale pooled connections.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from .. import nowait
from ..errors import StoreError
from .connect import db_reason, ledger_engine, ledger_url
from .schema import ensure_schema

__all__ = ["Database"]

T = TypeVar("T")


class Database:
    """The engine for one ledger URL; tables are created on first use when asked to."""

    def __init__(self, url: str, *, create_tables: bool) -> None:
        self.parsed = ledger_url(url)
        self.backend = self.parsed.get_backend_name()
        self.engine = ledger_engine(self.parsed)
        #: The URL with any password hidden: safe for messages.
        self.url = self.parsed.render_as_string(hide_password=True)
        self._create_tables = create_tables
        self._ready = False
        self._ready_lock = threading.Lock()

    def ensure_ready(self) -> None:
        """Create missing tables once (another process may be doing it at the same time)."""
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

    def transaction(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one transaction; reconnect once if a pooled connection went stale.

        Never quick: inside a quick try (:mod:`...nowait`) it refuses at once."""
        nowait.check()
        self.ensure_ready()
        try:
            with self.engine.begin() as conn:
                return work(conn)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        with self.engine.begin() as conn:
            return work(conn)

    def run(self, work: Callable[[Connection], T], failed: str = "ledger database failed") -> T:
        """One transaction whose database failures surface as ``StoreError`` (``failed``)."""
        try:
            return self.transaction(work)
        except SQLAlchemyError as exc:
            raise StoreError(f"{failed} ({self.url}): {db_reason(exc)}") from exc

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()
