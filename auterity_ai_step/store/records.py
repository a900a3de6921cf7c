"""Plain records the ledger takes and gives: no SQLAlchemy here."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from .tables import utcnow

__all__ = ["UsageRecord", "usage_dict"]


def _new_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One attempt as the ledger stores it; ``id`` is made here so retried writes dedupe."""

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
    created_at: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        if not (self.cost.is_finite() and self.cost >= 0):
            raise ValueError(f"a usage record's cost must be >= 0 US dollars (got {self.cost})")

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
        }

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


def usage_dict(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A stored usage row as a JSON-friendly dict (Decimal cost, ISO 8601 UTC time)."""
    data = dict(row)
    data["created_at"] = data["created_at"].isoformat()
    return data
