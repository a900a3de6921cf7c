"""Whether a ledger database exists, asked without creating it.

Commands that only read (``usage``, ``estimate``, ``models``, the API's reports) must not
create a database as a side effect: a mistyped ``--db`` would otherwise report an empty
ledger as "0 USD". Only SQLite can be missing in a way we can see without connecting; a
PostgreSQL database that does not exist is refused by its server on the first read.
"""

from __future__ import annotations

from pathlib import Path

from .connect import ledger_url

__all__ = ["missing_sqlite_file"]


def missing_sqlite_file(url: str) -> Path | None:
    """The SQLite file ``url`` names when it does not exist, else None (also for an
    in-memory database and for PostgreSQL). StoreError when ``url`` is not a URL."""
    parsed = ledger_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:":
        return None
    path = Path(database).expanduser()
    return None if path.is_file() else path
