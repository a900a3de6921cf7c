"""The ledger's tables: the only place with table definitions (the migration mirrors them).

They are SQLAlchemy Core ``Table`` objects on one :data:`metadata`, not ORM classes: the
ledger runs Core statements only, and a step's process never imports ``sqlalchemy.orm``
(about 5.6 MiB of memory; ``tests/store/test_no_orm.py`` holds it to that).

Money columns are ``Numeric(18, 10)``. SQLite has no exact decimal type (NUMERIC affinity
degrades to float), so there the same columns hold integers in units of 1e-10: sums and the
conditional budget update stay exact integer arithmetic, and values read back as Decimal.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = [
    "Money",
    "UTCDateTime",
    "budget_days",
    "budget_leases",
    "budget_reservations",
    "metadata",
    "model_configurations",
    "model_usage",
    "money_to_db",
    "step_results",
    "utcnow",
]

_SCALE = 10
_QUANTUM = Decimal(1).scaleb(-_SCALE)
_LIMIT = Decimal(10) ** (18 - _SCALE)


def utcnow() -> datetime:
    """Timezone-aware now in UTC (every stored time is UTC)."""
    return datetime.now(UTC)


class Money(TypeDecorator[Decimal]):
    """Exact money: ``Numeric(18, 10)``, or a scaled integer on SQLite."""

    impl = Numeric(18, _SCALE)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(18, _SCALE, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return money_to_db(value, sqlite=dialect.name == "sqlite")

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-_SCALE).quantize(_QUANTUM)
        return Decimal(value).quantize(_QUANTUM)


def money_to_db(value: Any, *, sqlite: bool) -> Any:
    """``value`` as a Money column stores it: exact to 1e-10, a scaled integer on SQLite.

    ValueError when it does not fit ``Numeric(18, 10)``.
    """
    exact = (value if type(value) is Decimal else Decimal(value)).quantize(_QUANTUM)
    if abs(exact) >= _LIMIT:
        raise ValueError(f"{value} does not fit Numeric(18, {_SCALE})")
    return int(exact.scaleb(_SCALE)) if sqlite else exact


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware UTC times only")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        result: datetime = value
        if result.tzinfo is None:
            return result.replace(tzinfo=UTC)
        return result.astimezone(UTC)


def _uuid() -> str:
    return str(uuid.uuid4())


#: Every ledger table; ``create_all`` and the migrations' comparison read it.
metadata = MetaData()

#: One row per attempt. The id is a client-made UUID, so a retried write is idempotent.
model_usage = Table(
    "model_usage",
    metadata,
    Column("id", String(36), primary_key=True, default=_uuid),
    Column("execution_id", String(255)),
    Column("node_id", String(255)),
    Column("model_name", String(100), nullable=False),
    Column("provider", String(50), nullable=False),
    Column("prompt_tokens", BigInteger, nullable=False, default=0),
    Column("completion_tokens", BigInteger, nullable=False, default=0),
    Column("total_tokens", BigInteger, nullable=False, default=0),
    Column("cost", Money(), nullable=False),
    Column("latency_ms", Integer, nullable=False, default=0),
    Column("status", String(16), nullable=False),
    Column("error_type", String(64)),
    Column("attempt", Integer, nullable=False, default=1),
    Column("is_fallback", Boolean, nullable=False, default=False),
    Column("price_version", String(64)),
    Column("created_at", UTCDateTime(), nullable=False, default=utcnow),
    # Usage the provider reported that cannot be true (negative, missing, above max_tokens).
    Column("usage_anomaly", String(255)),
    # How the step was routed, so ``whatif`` can route it again under another policy
    # (revision 0004; older rows have NULL here and replay with what they have).
    Column("step_run", String(36)),
    Column("task_type", String(100)),
    Column("cost_preference", String(16)),
    Column("config_hash", String(64)),
    Column("routing", JSON),
    Index("ix_model_usage_execution_id", "execution_id"),
    Index("ix_model_usage_created_at", "created_at"),
    Index("ix_model_usage_model_created", "model_name", "created_at"),
)

#: Dynamic model configurations that override or extend the policy file.
model_configurations = Table(
    "model_configurations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("provider", String(50), nullable=False),
    Column("config", JSON, nullable=False),
    Column("is_active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime(), nullable=False, default=utcnow),
    Column("updated_at", UTCDateTime(), onupdate=utcnow),
)

#: One budget day per scope: what is spent and reserved, and whether it alerted.
budget_days = Table(
    "budget_days",
    metadata,
    Column("day", Date, primary_key=True),
    Column("scope", String(64), primary_key=True, default="global"),
    Column("spent", Money(), nullable=False, default=Decimal(0)),
    Column("reserved", Money(), nullable=False, default=Decimal(0)),
    Column("alerted", Boolean, nullable=False, default=False),
)

#: An open reservation; leaked ones (a crashed worker) are found by age and expired.
#: Expiring charges the amount to the day as spent and stamps ``expired_at``; the row stays
#: so that a late settle of the same attempt books only the difference to its actual cost.
#: ``lease_id`` is the worker's lease the reservation is held in (NULL: held on the day).
budget_reservations = Table(
    "budget_reservations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("day", Date, nullable=False),
    Column("scope", String(64), nullable=False, default="global"),
    Column("amount", Money(), nullable=False),
    Column("execution_id", String(255)),
    Column("created_at", UTCDateTime(), nullable=False, default=utcnow),
    Column("expired_at", UTCDateTime()),
    Column("lease_id", Integer),
    Index("ix_budget_reservations_created_at", "created_at"),
    Index("ix_budget_reservations_lease_id", "lease_id"),
)

#: A worker's slice of a budget day, counted in the day's ``reserved`` while open.
#: The worker holds and settles its reservations in the lease (``held``, ``spent``) instead
#: of the shared day row; returning it (``returned_at``) books ``spent`` to the day, gives
#: back the unused rest and leaves ``held`` reserved on the day.
budget_leases = Table(
    "budget_leases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("day", Date, nullable=False),
    Column("scope", String(64), nullable=False, default="global"),
    Column("amount", Money(), nullable=False),
    Column("held", Money(), nullable=False, default=Decimal(0)),
    Column("spent", Money(), nullable=False, default=Decimal(0)),
    Column("owner", String(64), nullable=False),
    Column("granted_at", UTCDateTime(), nullable=False, default=utcnow),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("returned_at", UTCDateTime()),
    Index("ix_budget_leases_open", "returned_at", "expires_at"),
)

#: A step's claim and, once it succeeded, its answer: what a re-run replays.
#: ``key`` is a hash of the execution id, node id, step config and input (see
#: ``auterity_ai_step.core.replay``). ``status`` is ``running`` while one worker holds the
#: claim (``owner``, since ``claimed_at``) and ``succeeded`` once ``output`` is kept;
#: ``replays`` counts the re-runs that were answered from it.
step_results = Table(
    "step_results",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("execution_id", String(255)),
    Column("node_id", String(255)),
    Column("status", String(16), nullable=False),
    Column("owner", String(36), nullable=False),
    Column("output", JSON),
    Column("replays", Integer, nullable=False, default=0),
    Column("claimed_at", UTCDateTime(), nullable=False, default=utcnow),
    Column("finished_at", UTCDateTime()),
    Index("ix_step_results_execution_id", "execution_id"),
)
