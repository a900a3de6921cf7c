"""Claims and recorded answers of steps, so that a re-run pays once (``step_results``).

A worker claims a step's key before it calls any model. Exactly one claim wins on every
backend: the claim is an ``INSERT ... ON CONFLICT DO NOTHING``, and taking over a stale
claim is a conditional ``UPDATE`` on the old owner (a compare-and-set), so two workers
racing on the same key never both run it. The winner keeps the answer with
:func:`finish`, or gives the claim up with :func:`abandon` when the step failed, so that a
retry may run it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .records import COLUMN_SIZES, storable_text
from .tables import step_results as _RESULTS
from .tables import utcnow

__all__ = ["Claim", "abandon", "claim", "finish", "note_replay"]

ClaimState = Literal["claimed", "succeeded", "busy"]


@dataclass(frozen=True, slots=True)
class Claim:
    """What a claim found: ours to run, an answer to replay, or another worker's run."""

    state: ClaimState
    output: dict[str, Any] | None = None
    claimed_at: datetime | None = None


def claim(
    conn: Connection,
    key: str,
    *,
    owner: str,
    execution_id: str | None,
    node_id: str | None,
    stale_after_s: float,
) -> Claim:
    """Claim ``key`` for ``owner``; a claim older than ``stale_after_s`` is taken over."""
    now = utcnow()
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    values = insert(_RESULTS).values(
        key=key,
        execution_id=storable_text(execution_id, COLUMN_SIZES["execution_id"]),
        node_id=storable_text(node_id, COLUMN_SIZES["node_id"]),
        status="running",
        owner=owner,
        replays=0,
        claimed_at=now,
    )
    stmt = values.on_conflict_do_nothing().returning(_RESULTS.c.key)
    if conn.execute(stmt).first() is not None:  # (rowcount is -1 here on psycopg)
        return Claim("claimed", claimed_at=now)
    row = conn.execute(
        select(_RESULTS.c.status, _RESULTS.c.owner, _RESULTS.c.output, _RESULTS.c.claimed_at).where(
            _RESULTS.c.key == key
        )
    ).first()
    if row is None:  # abandoned between our insert and our read: try once more
        inserted = conn.execute(stmt).first() is not None
        return Claim("claimed", claimed_at=now) if inserted else Claim("busy")
    status, old_owner, output, claimed_at = row
    if status == "succeeded":
        return Claim("succeeded", output=dict(output or {}), claimed_at=claimed_at)
    if claimed_at > now - timedelta(seconds=stale_after_s):
        return Claim("busy", claimed_at=claimed_at)
    taken = conn.execute(
        update(_RESULTS)
        .where(_RESULTS.c.key == key, _RESULTS.c.owner == old_owner)
        .where(_RESULTS.c.status == "running")
        .values(owner=owner, claimed_at=now)
    )
    return Claim("claimed", claimed_at=now) if taken.rowcount == 1 else Claim("busy")


def finish(conn: Connection, key: str, *, owner: str, output: dict[str, Any]) -> bool:
    """Keep the answer of ``owner``'s claim; False when the claim was no longer ours."""
    done = conn.execute(
        update(_RESULTS)
        .where(_RESULTS.c.key == key, _RESULTS.c.owner == owner)
        .where(_RESULTS.c.status == "running")
        .values(status="succeeded", output=output, finished_at=utcnow())
    )
    return done.rowcount == 1


def abandon(conn: Connection, key: str, *, owner: str) -> None:
    """Give up ``owner``'s claim (its step failed), so a retry may run the step again."""
    conn.execute(
        delete(_RESULTS).where(
            _RESULTS.c.key == key, _RESULTS.c.owner == owner, _RESULTS.c.status == "running"
        )
    )


def note_replay(conn: Connection, key: str) -> None:
    """Count one re-run answered from ``key``'s recorded answer."""
    conn.execute(
        update(_RESULTS).where(_RESULTS.c.key == key).values(replays=_RESULTS.c.replays + 1)
    )
