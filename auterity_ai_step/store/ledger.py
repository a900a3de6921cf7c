"""The usage ledger: one facade over the parts that read and write one SQL database.

Each job lives in its own module; :class:`Ledger` composes them and keeps the methods that
hosts, the engine, the API and the budget guard call:

- ``budget_book.py``: reserve, settle/release/record (a :class:`~.budget_book.Booking`),
  expire, day status; the atomic no-overspend rules are described there;
- ``deferred.py``: a write the database cannot take now waits in the outbox and is replayed;
- ``usage_rows.py``: the rows of an execution; ``reports.py``: totals, series, top costs;
- ``configurations.py``: model configurations; ``step_claims.py``: claims for re-runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from . import whatif_rows
from .budget_book import EXPIRED_KEPT_S, Booking, BudgetBook
from .budget_leases import LeaseTerms
from .configurations import ModelConfigurations, stored_model_configurations
from .connect import default_spool
from .database import Database
from .deferred import REFUSED_RETRY_S, DeferredWrites
from .outbox import Outbox
from .records import UsageRecord
from .replays import Claim
from .reports import Reports
from .step_claims import StepClaims
from .usage_rows import UsageRows

__all__ = [
    "EXPIRED_KEPT_S",
    "REFUSED_RETRY_S",
    "LeaseTerms",
    "Ledger",
    "UsageRecord",
    "stored_model_configurations",
]


class Ledger:
    """Usage rows, budgets and model configurations in one SQL database (SQLite or PostgreSQL).

    With ``create_tables`` (the default) the first use of a database that Alembic does not
    manage yet creates the missing tables and records the head revision in the ledger's own
    version table (``auterity_ai_step_alembic_version``), so the shipped migration's
    ``upgrade head`` has nothing left to do. ``create_tables=False`` creates nothing.

    ``budget_leases`` (opt-in) makes this ledger lease slices of a daily budget and reserve
    inside them, so many workers do not queue on the day's row (``budget_leases.py``);
    :meth:`close` (or the process's exit) returns them.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        create_tables: bool = True,
        spool_path: str | Path | None = None,
        budget_leases: LeaseTerms | None = None,
    ) -> None:
        if url is None:
            from ..settings import database_url

            url = database_url()
        self.db = Database(url, create_tables=create_tables)
        self.outbox = Outbox(Path(spool_path) if spool_path else default_spool(self.db.parsed))
        self.usage = UsageRows(self.db)
        self.book = BudgetBook(self.db, self.usage, budget_leases)
        self.writes = DeferredWrites(self.book, self.outbox)
        self.reports = Reports(self.db)
        self.configurations = ModelConfigurations(self.db)
        self.claims = StepClaims(self.db, self.usage, self.book.driver)

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.db.backend

    @property
    def engine(self) -> Engine:
        return self.db.engine

    @property
    def url(self) -> str:
        """The database URL with any password hidden."""
        return self.db.url

    @property
    def quick_writes(self) -> bool:
        """Whether the budget and replay writes may be tried on the event loop first (a
        SQLite file without budget leases; see ``nowait.py`` and ``store/driver.py``)."""
        return self.book.driver.quick_possible and self.book.leases is None

    def close(self) -> None:
        """Return this worker's budget leases, then release pooled connections."""
        if self.book.leases is not None:
            self.book.leases.close()
        self.book.driver.close()
        self.db.close()

    # -- budget and usage writes (budget_book.py, deferred.py) -------------------------------

    def reserve(
        self,
        amount: Decimal,
        *,
        day: date,
        daily_budget: Decimal | None,
        execution_id: str | None = None,
        scope: str = "global",
    ) -> int:
        """Atomically reserve ``amount`` on ``day``; ``LimitExceeded`` if the budget is short."""
        return self.book.reserve(
            amount, day=day, daily_budget=daily_budget, execution_id=execution_id, scope=scope
        )

    def settle(
        self,
        reservation_id: int | None,
        record: UsageRecord,
        *,
        day: date | None = None,
        scope: str = "global",
        alert_at: Decimal | None = None,
        on_deferred: Callable[[str], None] | None = None,
    ) -> bool:
        """Turn a reservation into the attempt's actual cost and write its row, atomically.

        ``day`` books the cost when there is no reservation (or it was purged). An expired
        reservation was charged at its amount: this books the difference. Returns True when
        this settle pushed the day's spend past ``alert_at`` first (the ``alerted`` flag is
        set by a conditional UPDATE, so exactly one worker sees True). When the write has to
        wait in the outbox, ``on_deferred`` is called with the reason.
        """
        booking = Booking("settle", reservation_id, record, day, scope, alert_at)
        return self.writes.write(booking, on_deferred)

    def release(
        self,
        reservation_id: int | None,
        record: UsageRecord | None = None,
        *,
        on_deferred: Callable[[str], None] | None = None,
    ) -> None:
        """Drop a reservation of an attempt that cost nothing, writing its row if given."""
        self.writes.write(Booking("release", reservation_id, record), on_deferred)

    def record(
        self,
        record: UsageRecord,
        *,
        day: date | None = None,
        scope: str = "global",
        on_deferred: Callable[[str], None] | None = None,
    ) -> None:
        """Write one usage row (no reservation); with ``day`` its cost counts as spent."""
        self.writes.write(Booking("record", None, record, day, scope), on_deferred)

    def flush_pending(self) -> int:
        """Write what the outbox holds; returns how many entries were written."""
        return self.writes.flush()

    def expire_reservations(self, older_than_s: float) -> int:
        """Charge leaked reservations (a crashed or stuck worker's) to their days; how many.

        See :meth:`BudgetBook.expire`: the worst case becomes spent, never refunded.
        """
        return self.book.expire(older_than_s)

    def day_status(self, day: date, scope: str = "global") -> tuple[Decimal, Decimal]:
        """(spent, reserved) on ``day``."""
        return self.book.day_status(day, scope)

    # -- reads (usage_rows.py, reports.py, configurations.py) --------------------------------

    def execution_usage(self, execution_id: str) -> list[dict[str, Any]]:
        """Every attempt recorded against one execution, oldest first."""
        return self.usage.for_execution(execution_id)

    def totals(self, days: int, model: str | None = None) -> dict[str, Any]:
        """Calls, tokens and cost by model and by UTC day for the last ``days`` days."""
        return self.reports.totals(days, model)

    def usage_series(self, days: int, group_by: str = "model") -> list[dict[str, Any]]:
        """Usage per UTC day and per model (``group_by="model"``) or provider."""
        return self.reports.usage_series(days, group_by)

    def model_performance(self, days: int) -> list[dict[str, Any]]:
        """Per model: calls, errors, fallbacks and p50/p95 latency over ``days`` days."""
        return self.reports.model_performance(days)

    def top_costs(self, days: int, by: str, limit: int = 5) -> list[dict[str, Any]]:
        """The executions (``by="execution"``) or nodes (``"node"``) that cost most."""
        return self.reports.top_costs(days, by, limit)

    def recorded_attempts(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        execution_id: str | None = None,
    ) -> list[whatif_rows.RecordedAttempt]:
        """The attempts a ``whatif`` replay reads, oldest first (replayed steps left out)."""
        return self.db.run(
            lambda conn: list(
                whatif_rows.recorded_attempts(
                    conn, since=since, until=until, execution_id=execution_id
                )
            )
        )

    def budget_spent_between(self, first: date, last: date, scope: str = "global") -> Decimal:
        """What the budget booked as spent from ``first`` to ``last``, both included."""
        return self.reports.budget_spent_between(first, last, scope)

    def model_configurations(self) -> tuple[str, dict[str, dict[str, Any]]]:
        """(version token, {name: config}) of the active rows; the token changes with them."""
        return self.configurations.read()

    def put_model_configurations(self, configs: Mapping[str, Mapping[str, Any]]) -> None:
        """Replace all model configurations in one transaction (validate them first)."""
        self.configurations.replace(configs)

    # -- step replays (step_claims.py) -------------------------------------------------------

    def claim_step(
        self,
        key: str,
        *,
        owner: str,
        execution_id: str | None,
        node_id: str | None,
        stale_after_s: float,
    ) -> Claim:
        """Claim a step's key before running it: ours, a recorded answer, or busy."""
        return self.claims.claim(
            key,
            owner=owner,
            execution_id=execution_id,
            node_id=node_id,
            stale_after_s=stale_after_s,
        )

    def finish_step(self, key: str, *, owner: str, output: dict[str, Any]) -> bool:
        """Keep a succeeded step's answer for re-runs; False if the claim was lost."""
        return self.claims.finish(key, owner=owner, output=output)

    def abandon_step(self, key: str, *, owner: str) -> None:
        """Give up a failed step's claim so that a retry runs it again."""
        self.claims.abandon(key, owner=owner)

    def record_replay(self, key: str, record: UsageRecord) -> None:
        """Count a re-run answered from ``key`` and write its usage row (cost 0), together."""
        self.claims.record_replay(key, record)
