"""The attempts ``whatif`` replays, read in one pass in the order they were recorded.

One narrow read: only the columns a replay needs, no ORM objects, ordered by time so the
replay can walk the daily budget day by day. Replayed steps (status ``replayed``) made no
provider call and are left out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import Connection, select

from .records import COLUMN_SIZES, storable_text
from .tables import model_usage as _USAGE

__all__ = ["RecordedAttempt", "recorded_attempts"]


class RecordedAttempt(NamedTuple):
    """One attempt as recorded; the last five fields are None on rows before revision 0004."""

    execution_id: str | None
    node_id: str | None
    model_name: str
    provider: str
    prompt_tokens: int
    completion_tokens: int
    cost: Decimal
    status: str
    attempt: int
    created_at: datetime
    step_run: str | None
    task_type: str | None
    cost_preference: str | None
    config_hash: str | None
    routing: Mapping[str, Any] | None


_COLUMNS = (
    _USAGE.c.execution_id,
    _USAGE.c.node_id,
    _USAGE.c.model_name,
    _USAGE.c.provider,
    _USAGE.c.prompt_tokens,
    _USAGE.c.completion_tokens,
    _USAGE.c.cost,
    _USAGE.c.status,
    _USAGE.c.attempt,
    _USAGE.c.created_at,
    _USAGE.c.step_run,
    _USAGE.c.task_type,
    _USAGE.c.cost_preference,
    _USAGE.c.config_hash,
    _USAGE.c.routing,
)


def recorded_attempts(
    conn: Connection,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    execution_id: str | None = None,
) -> Iterator[RecordedAttempt]:
    """Attempts from ``since`` (inclusive) to ``until`` (exclusive), oldest first."""
    stmt = select(*_COLUMNS).where(_USAGE.c.status != "replayed")
    if since is not None:
        stmt = stmt.where(_USAGE.c.created_at >= since)
    if until is not None:
        stmt = stmt.where(_USAGE.c.created_at < until)
    if execution_id is not None:
        stored = storable_text(execution_id, COLUMN_SIZES["execution_id"])
        stmt = stmt.where(_USAGE.c.execution_id == stored)
    stmt = stmt.order_by(_USAGE.c.created_at, _USAGE.c.attempt)
    for row in conn.execute(stmt.execution_options(yield_per=5000)):
        yield RecordedAttempt._make(row)
