"""Whether a ledger database exists, asked without creating it.

Commands that only read (``usage``, ``estimate``, ``models``, the API's reports) must not
create a database as a side effect: a mistyped ``--db`` would otherwise report an empty
ledger as "0 USD". Only SQLite can be missing in a way we can see without connecting; a
PostgreSQL database that does not exist is refused by its server on the first read.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["missing_sqlite_file", "plainly_missing_sqlite_file"]

# sqlite:///relative.db or sqlite:////absolute.db, with no driver, query or escapes: the
# path is what follows the third slash, as SQLAlchemy reads it.
_PLAIN_SQLITE = re.compile(r"^sqlite:///(?P<path>[^?%#:]+)$")


def plainly_missing_sqlite_file(url: str) -> Path | None:
    """The SQLite file a plain ``sqlite:///PATH`` URL names when it does not exist; None
    for every other URL or an existing file. Needs no SQLAlchemy, so a command with nothing
    to read starts without it; anything unusual is left to :func:`missing_sqlite_file`."""
    match = _PLAIN_SQLITE.match(url.strip())
    if match is None:
        return None
    path = Path(match["path"]).expanduser()
    return None if path.is_file() else path


def missing_sqlite_file(url: str) -> Path | None:
    """The SQLite file ``url`` names when it does not exist, else None (also for an
    in-memory database and for PostgreSQL). StoreError when ``url`` is not a URL."""
    from .connect import ledger_url

    parsed = ledger_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:":
        return None
    path = Path(database).expanduser()
    return None if path.is_file() else path
