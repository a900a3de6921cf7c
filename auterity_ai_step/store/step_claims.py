"""Step claims for idempotent re-runs, in one database (the statements are in ``replays.py``).

Every idempotent step claims its key before it runs and keeps its answer after: two
transactions per step. Their common cases, a new claim and keeping the answer, run as fixed
SQL on the driver (``driver.py``), as the attempt's reserve and settle do; through
SQLAlchemy's ``Connection`` they cost about 1.9 ms of CPU per step, as much as the rest of
the step's own work. Anything else (a key already claimed or answered, a stale claim taken
over, an answer the driver's JSON cannot encode) goes through ``replays.py`` unchanged.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection

from . import replays
from .database import Database
from .driver import Driver
from .records import COLUMN_SIZES, UsageRecord, storable_text
from .replays import Claim
from .tables import utcnow
from .usage_rows import UsageRows

_CLAIM = (
    "INSERT INTO step_results (key, execution_id, node_id, status, owner, replays, claimed_at) "
    "VALUES (?, ?, ?, 'running', ?, 0, ?) ON CONFLICT DO NOTHING RETURNING key"
)
_FAILED = "ledger database failed"  # as Database.run says it
_FINISH = (
    "UPDATE step_results SET status = 'succeeded', output = ?, finished_at = ? "
    "WHERE key = ? AND owner = ? AND status = 'running'"
)

__all__ = ["StepClaims"]


class StepClaims:
    """Claim a step's key, keep its answer, give it up, or count a replay of it."""

    def __init__(self, db: Database, usage: UsageRows, driver: Driver) -> None:
        self.db = db
        self.usage = usage
        self.driver = driver
        if driver.sqlite:
            self._claim_sql, self._finish_sql = _CLAIM, _FINISH
        else:  # psycopg: %s placeholders, and a str sent as text must be cast to json
            self._claim_sql = _CLAIM.replace("?", "%s")
            self._finish_sql = _FINISH.replace("?", "%s").replace(
                "output = %s", "output = CAST(%s AS JSON)"
            )

    def claim(
        self,
        key: str,
        *,
        owner: str,
        execution_id: str | None,
        node_id: str | None,
        stale_after_s: float,
    ) -> Claim:
        """Claim a step's key before running it: ours, a recorded answer, or busy."""
        now = utcnow()
        row = (
            key,
            storable_text(execution_id, COLUMN_SIZES["execution_id"]),
            storable_text(node_id, COLUMN_SIZES["node_id"]),
            owner,
            self.driver.time(now),
        )

        def insert(cursor: Any) -> bool:
            cursor.execute(self._claim_sql, row)
            return cursor.fetchone() is not None

        if self.driver.run(insert, _FAILED):
            return Claim("claimed", claimed_at=now)
        return self.db.run(  # the key is taken: answered, busy, or stale
            lambda conn: replays.claim(
                conn,
                key,
                owner=owner,
                execution_id=execution_id,
                node_id=node_id,
                stale_after_s=stale_after_s,
            )
        )

    def finish(self, key: str, *, owner: str, output: dict[str, Any]) -> bool:
        """Keep a succeeded step's answer for re-runs; False if the claim was lost."""
        try:
            stored = json.dumps(output)  # as SQLAlchemy's JSON type stores it
        except (TypeError, ValueError):  # let SQLAlchemy's JSON type say what it cannot store
            return self.db.run(lambda conn: replays.finish(conn, key, owner=owner, output=output))
        values = (stored, self.driver.time(utcnow()), key, owner)

        def update(cursor: Any) -> bool:
            cursor.execute(self._finish_sql, values)
            return bool(cursor.rowcount == 1)

        return self.driver.run(update, _FAILED)

    def abandon(self, key: str, *, owner: str) -> None:
        """Give up a failed step's claim so that a retry runs it again."""
        self.db.run(lambda conn: replays.abandon(conn, key, owner=owner))

    def record_replay(self, key: str, record: UsageRecord) -> None:
        """Count a re-run answered from ``key`` and write its usage row (cost 0), together."""

        def work(conn: Connection) -> None:
            replays.note_replay(conn, key)
            self.usage.insert(conn, record)

        self.db.run(work)
