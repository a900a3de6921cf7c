"""The ledger's tables: the only place with table definitions (the migration mirrors them).

Money columns are ``Numeric(18, 10)``. SQLite has no exact decimal type (NUMERIC affinity
degrades to float), so there the same columns hold integers in units of 1e-10: sums and the
conditional budget update stay exact integer arithmetic, and values read back as Decimal.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Index,
    Integer,
    Numeric,
    String,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = [
    "Base",
    "BudgetDay",
    "BudgetLease",
    "BudgetReservation",
    "ModelConfiguration",
    "ModelUsage",
    "Money",
    "StepResult",
    "UTCDateTime",
    "money_to_db",
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


class Base(DeclarativeBase):
    """Declarative base of the ledger's tables."""


def _uuid() -> str:
    return str(uuid.uuid4())


class ModelUsage(Base):
    """One row per attempt. The id is a client-made UUID, so a retried write is idempotent."""

    __tablename__ = "model_usage"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_uuid)
    execution_id: Mapped[str | None] = mapped_column(String(255))
    node_id: Mapped[str | None] = mapped_column(String(255))
    model_name: Mapped[str] = mapped_column(String(100))
    provider: Mapped[str] = mapped_column(String(50))
    prompt_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    completion_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    total_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cost: Mapped[Decimal] = mapped_column(Money())
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))
    error_type: Mapped[str | None] = mapped_column(String(64))
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    is_fallback: Mapped[bool] = mapped_column(Boolean, default=False)
    price_version: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Usage the provider reported that cannot be true (negative, missing, above max_tokens).
    usage_anomaly: Mapped[str | None] = mapped_column(String(255))
    # How the step was routed, so ``whatif`` can route it again under another policy
    # (revision 0004; older rows have NULL here and replay with what they have).
    step_run: Mapped[str | None] = mapped_column(String(36))
    task_type: Mapped[str | None] = mapped_column(String(100))
    cost_preference: Mapped[str | None] = mapped_column(String(16))
    config_hash: Mapped[str | None] = mapped_column(String(64))
    routing: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_model_usage_execution_id", "execution_id"),
        Index("ix_model_usage_created_at", "created_at"),
        Index("ix_model_usage_model_created", "model_name", "created_at"),
    )


class ModelConfiguration(Base):
    """Dynamic model configurations that override or extend the policy file."""

    __tablename__ = "model_configurations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    provider: Mapped[str] = mapped_column(String(50))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), onupdate=utcnow)


class BudgetDay(Base):
    """One budget day per scope: what is spent and reserved, and whether it alerted."""

    __tablename__ = "budget_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    scope: Mapped[str] = mapped_column(String(64), primary_key=True, default="global")
    spent: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    reserved: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    alerted: Mapped[bool] = mapped_column(Boolean, default=False)


class BudgetReservation(Base):
    """An open reservation; leaked ones (a crashed worker) are found by age and expired.

    Expiring charges the amount to the day as spent and stamps ``expired_at``; the row stays
    so that a late settle of the same attempt books only the difference to its actual cost.
    """

    __tablename__ = "budget_reservations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date)
    scope: Mapped[str] = mapped_column(String(64), default="global")
    amount: Mapped[Decimal] = mapped_column(Money())
    execution_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The worker's lease this reservation is held in (None: held on the day directly).
    lease_id: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_budget_reservations_created_at", "created_at"),
        Index("ix_budget_reservations_lease_id", "lease_id"),
    )


class BudgetLease(Base):
    """A worker's slice of a budget day, counted in the day's ``reserved`` while open.

    The worker holds and settles its reservations in the lease (``held``, ``spent``)
    instead of the shared day row; returning it (``returned_at``) books ``spent`` to the
    day, gives back the unused rest and leaves ``held`` reserved on the day.
    """

    __tablename__ = "budget_leases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date)
    scope: Mapped[str] = mapped_column(String(64), default="global")
    amount: Mapped[Decimal] = mapped_column(Money())
    held: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    spent: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    owner: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_budget_leases_open", "returned_at", "expires_at"),)


class StepResult(Base):
    """A step's claim and, once it succeeded, its answer: what a re-run replays.

    ``key`` is a hash of the execution id, node id, step config and input (see
    ``auterity_ai_step.core.replay``). ``status`` is ``running`` while one worker holds the
    claim (``owner``, since ``claimed_at``) and ``succeeded`` once ``output`` is kept;
    ``replays`` counts the re-runs that were answered from it.
    """

    __tablename__ = "step_results"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    execution_id: Mapped[str | None] = mapped_column(String(255))
    node_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str] = mapped_column(String(36))
    output: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    replays: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_step_results_execution_id", "execution_id"),)
