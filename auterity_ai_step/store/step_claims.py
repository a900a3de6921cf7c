"""Step claims for idempotent re-runs, in one database (the statements are in ``replays.py``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from . import replays
from .database import Database
from .records import UsageRecord
from .replays import Claim
from .usage_rows import UsageRows

__all__ = ["StepClaims"]


class StepClaims:
    """Claim a step's key, keep its answer, give it up, or count a replay of it."""

    def __init__(self, db: Database, usage: UsageRows) -> None:
        self.db = db
        self.usage = usage

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
        return self.db.run(
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
        return self.db.run(lambda conn: replays.finish(conn, key, owner=owner, output=output))

    def abandon(self, key: str, *, owner: str) -> None:
        """Give up a failed step's claim so that a retry runs it again."""
        self.db.run(lambda conn: replays.abandon(conn, key, owner=owner))

    def record_replay(self, key: str, record: UsageRecord) -> None:
        """Count a re-run answered from ``key`` and write its usage row (cost 0), together."""

        def work(conn: Connection) -> None:
            replays.note_replay(conn, key)
            self.usage.insert(conn, record)

        self.db.run(work)
