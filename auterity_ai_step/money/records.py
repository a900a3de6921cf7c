"""One attempt's record: what the step output reports and the ledger stores, one type.

The engine makes one :class:`UsageRecord` per provider call (or health check); the step's
``ai_attempts`` entry is :meth:`UsageRecord.to_output` and the ``model_usage`` row is
:meth:`UsageRecord.to_row` of the same object, so the two cannot disagree. It lives in money,
below both the store and the core, so both may use it (``store.records`` re-exports it).

Every record is storable by construction: text that would not fit its column, or that holds
control characters (PostgreSQL refuses NUL), is kept in a storable form that still tells
different values apart (:func:`storable_text`); token counts are clamped to the 64-bit
columns and cost to ``Numeric(18, 10)``, each clamp noted in ``usage_anomaly``. So a write
after a paid call cannot fail on the values it carries.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from .prices import money_text

__all__ = ["COLUMN_SIZES", "UsageRecord", "storable_text"]

#: Characters each text column of ``model_usage`` holds (``store/tables.py``).
COLUMN_SIZES = {
    "execution_id": 255,
    "node_id": 255,
    "model_name": 100,
    "provider": 50,
    "status": 16,
    "error_type": 64,
    "price_version": 64,
    "usage_anomaly": 255,
    "step_run": 36,
    "task_type": 100,
    "cost_preference": 16,
    "config_hash": 64,
}
_MAX_TOKENS = 2**53 - 1
_MAX_COST = Decimal("99999999.9999999999")
_DIGEST_CHARS = 32
# Control characters (category Cc: NUL among them) and lone surrogates: no column stores them.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _new_id() -> str:
    return str(uuid.uuid4())


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def storable_text(value: str | None, size: int) -> str | None:
    """``value`` as a column of ``size`` characters stores it, telling values apart.

    A value that fits and holds no control character is kept as it is. Otherwise its
    control characters are escaped (``\\x00``), it is cut to leave room, and ``#`` plus a
    SHA-256 digest of the whole original is appended: two different ids never end up the
    same, and the same id always maps to the same stored form (lookups apply it too).
    """
    if value is None:
        return None
    if len(value) <= size and _UNSAFE.search(value) is None:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    escaped = _UNSAFE.sub(_escape, value)
    room = size - _DIGEST_CHARS - 1
    if room < 8:
        return digest[:size]
    return f"{escaped[:room]}#{digest[:_DIGEST_CHARS]}"


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One attempt: as the ledger stores it and as the step output reports it.

    ``id`` is made here so retried writes dedupe. ``status`` is ``success`` or ``error``;
    ``error`` (the failure's text) and ``ledger_pending`` (why the row waits in the outbox)
    are reported in the step output only, never stored.
    """

    execution_id: str | None
    node_id: str | None
    model_name: str
    provider: str
    prompt_tokens: int
    completion_tokens: int
    cost: Decimal
    latency_ms: int
    status: str
    error_type: str | None
    attempt: int
    is_fallback: bool
    price_version: str | None
    id: str = field(default_factory=_new_id)
    created_at: datetime = field(default_factory=_utcnow)
    usage_anomaly: str | None = None
    error: str | None = None
    ledger_pending: str | None = None
    # How the step was routed (see ``store/tables.py``): what ``whatif`` routes again.
    step_run: str | None = None
    task_type: str | None = None
    cost_preference: str | None = None
    config_hash: str | None = None
    routing: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if not (self.cost.is_finite() and self.cost >= 0):
            raise ValueError(f"a usage record's cost must be >= 0 US dollars (got {self.cost})")
        notes = [self.usage_anomaly] if self.usage_anomaly else []
        for name in ("prompt_tokens", "completion_tokens"):
            count = getattr(self, name)
            if not 0 <= count <= _MAX_TOKENS:
                object.__setattr__(self, name, min(max(count, 0), _MAX_TOKENS))
                notes.append(f"{name} clamped to 0..{_MAX_TOKENS}")
        if self.cost > _MAX_COST:
            object.__setattr__(self, "cost", _MAX_COST)
            notes.append(f"cost clamped to {_MAX_COST}")
        object.__setattr__(self, "usage_anomaly", "; ".join(notes) or None)
        for name, size in COLUMN_SIZES.items():
            object.__setattr__(self, name, storable_text(getattr(self, name), size))

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_row(self) -> dict[str, Any]:
        """Column values for ``model_usage``."""
        return {
            "id": self.id,
            "execution_id": self.execution_id,
            "node_id": self.node_id,
            "model_name": self.model_name,
            "provider": self.provider,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "cost": self.cost,
            "latency_ms": self.latency_ms,
            "status": self.status,
            "error_type": self.error_type,
            "attempt": self.attempt,
            "is_fallback": self.is_fallback,
            "price_version": self.price_version,
            "created_at": self.created_at,
            "usage_anomaly": self.usage_anomaly,
            "step_run": self.step_run,
            "task_type": self.task_type,
            "cost_preference": self.cost_preference,
            "config_hash": self.config_hash,
            "routing": None if self.routing is None else dict(self.routing),
        }

    def to_output(self) -> dict[str, Any]:
        """JSON-friendly form for the step's ``ai_attempts`` (money as a decimal string).

        ``usage_anomaly`` (usage the provider reported that cannot be true, and how it was
        charged) and ``ledger_pending`` (why the attempt's ledger row waits in the outbox)
        appear only when they apply.
        """
        output: dict[str, Any] = {
            "attempt": self.attempt,
            "model": self.model_name,
            "provider": self.provider,
            "outcome": self.status,
            "error_type": self.error_type,
            "error": self.error,
            "latency_ms": self.latency_ms,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "cost": money_text(self.cost),
            "is_fallback": self.is_fallback,
        }
        if self.usage_anomaly is not None:
            output["usage_anomaly"] = self.usage_anomaly
        if self.ledger_pending is not None:
            output["ledger_pending"] = self.ledger_pending
        return output

    def to_data(self) -> dict[str, Any]:
        """JSON-safe form (for the outbox): Decimal as a string, time as ISO 8601."""
        data = self.to_row()
        del data["total_tokens"]
        data["cost"] = str(self.cost)
        data["created_at"] = self.created_at.isoformat()
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> UsageRecord:
        """Inverse of :meth:`to_data`."""
        values = dict(data)
        values["cost"] = Decimal(values["cost"])
        values["created_at"] = datetime.fromisoformat(values["created_at"])
        return cls(**values)
