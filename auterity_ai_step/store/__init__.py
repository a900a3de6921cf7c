"""The usage ledger in SQL: tables, atomic budget reservations, queries, migrations.

Only this package imports SQLAlchemy.
"""

from __future__ import annotations

from .ledger import Ledger, stored_model_configurations
from .records import UsageRecord

__all__ = ["Ledger", "UsageRecord", "stored_model_configurations"]
