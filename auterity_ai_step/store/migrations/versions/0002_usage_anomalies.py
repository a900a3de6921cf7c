"""Hostile usage: 64-bit token counts, a usage-anomaly column, reservations that expire.

- ``model_usage.prompt_tokens``, ``completion_tokens``, ``total_tokens`` become BigInteger:
  a provider may report more than 2**31 tokens, and the row must still be written.
- ``model_usage.usage_anomaly``: what was wrong with the usage a provider reported.
- ``budget_reservations.expired_at``: an expired reservation is charged as spent and kept,
  so a late settle books only the difference to the actual cost.

Revision ID: 0002_usage_anomalies
Revises: 0001_model_tracking
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_usage_anomalies"
down_revision = "0001_model_tracking"
branch_labels = None
depends_on = None

_TOKENS = ("prompt_tokens", "completion_tokens", "total_tokens")


def upgrade() -> None:
    with op.batch_alter_table("model_usage") as batch:
        for name in _TOKENS:
            batch.alter_column(
                name, existing_type=sa.Integer(), type_=sa.BigInteger(), existing_nullable=False
            )
        batch.add_column(sa.Column("usage_anomaly", sa.String(255), nullable=True))
    with op.batch_alter_table("budget_reservations") as batch:
        batch.add_column(sa.Column("expired_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("budget_reservations") as batch:
        batch.drop_column("expired_at")
    with op.batch_alter_table("model_usage") as batch:
        batch.drop_column("usage_anomaly")
        for name in _TOKENS:
            batch.alter_column(
                name, existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=False
            )
