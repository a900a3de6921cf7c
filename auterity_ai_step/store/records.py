"""Plain records the ledger takes and gives: no SQLAlchemy here.

The attempt record itself is money's (:mod:`auterity_ai_step.money.records`), shared with
the core; it is re-exported here so ``from auterity_ai_step.store.records import
UsageRecord`` keeps working.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..money.records import COLUMN_SIZES, UsageRecord, storable_text

__all__ = ["COLUMN_SIZES", "UsageRecord", "storable_text", "usage_dict"]


def usage_dict(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A stored usage row as a JSON-friendly dict (Decimal cost, ISO 8601 UTC time)."""
    data = dict(row)
    data["created_at"] = data["created_at"].isoformat()
    return data
