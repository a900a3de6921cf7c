"""The usage ledger in SQL: tables, atomic budget reservations, queries, migrations.

Only this package imports SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .ledger import Ledger, stored_model_configurations
    from .records import UsageRecord

__all__ = ["Ledger", "UsageRecord", "stored_model_configurations"]


def __getattr__(name: str) -> Any:
    """Import the ledger (and SQLAlchemy) on first use, not with the package: commands
    that only ask whether a ledger exists (``store.locate``) start without it."""
    if name in ("Ledger", "stored_model_configurations"):
        from . import ledger

        return getattr(ledger, name)
    if name == "UsageRecord":
        from .records import UsageRecord

        return UsageRecord
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
