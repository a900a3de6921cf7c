"""Reading the ledger the host runs wrote."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def ledger_rows(url: str) -> list[dict[str, Any]]:
    """Every usage row of the ledger, oldest first."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT execution_id, node_id, model_name, status, error_type, attempt "
                    "FROM model_usage ORDER BY created_at"
                )
            )
            return [dict(row._mapping) for row in rows]
    finally:
        engine.dispose()
