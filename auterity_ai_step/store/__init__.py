"""The usage ledger in SQL: tables, atomic budget reservations, queries, migrations.

Only this package imports SQLAlchemy.
"""

from __future__ import annotations

from .ledger import Ledger
from .records import UsageRecord

__all__ = ["Ledger", "UsageRecord"]
