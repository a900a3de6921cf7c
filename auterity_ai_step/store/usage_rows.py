"""Usage rows (``model_usage``): one per attempt, written inside the caller's transaction.

The insert is one Core statement against the table, built once: it is on every attempt's
path, so nothing is rebuilt per call.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select

from .database import Database
from .records import COLUMN_SIZES, UsageRecord, storable_text, usage_dict
from .tables import model_usage as _USAGE

__all__ = ["UsageRows"]

_INSERT = insert(_USAGE)


class UsageRows:
    """Writes and reads of the usage rows of one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def insert(self, conn: Connection, record: UsageRecord) -> None:
        """Write ``record`` in the open transaction ``conn``."""
        conn.execute(_INSERT, record.to_row())

    def exists(self, usage_id: str) -> bool:
        """Whether a row with this id is stored (an earlier try may have committed)."""
        with self.db.engine.connect() as conn:
            found = conn.execute(select(_USAGE.c.id).where(_USAGE.c.id == usage_id)).first()
            return found is not None

    def for_execution(self, execution_id: str) -> list[dict[str, Any]]:
        """Every attempt recorded against one execution, oldest first."""
        stored = storable_text(execution_id, COLUMN_SIZES["execution_id"])
        stmt = (
            select(*_USAGE.columns)
            .where(_USAGE.c.execution_id == stored)
            .order_by(_USAGE.c.created_at, _USAGE.c.attempt)
        )
        return self.db.run(lambda conn: [usage_dict(row._mapping) for row in conn.execute(stmt)])
