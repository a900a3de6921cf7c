"""Model tracking: usage ledger, model configurations, budget days and reservations.

Money is Numeric(18, 10); on SQLite (no exact decimal type) it is an integer count of
1e-10 units, as ``auterity_ai_step.store.tables.Money`` reads and writes it.

Revision ID: 0001_model_tracking
Revises:
Create Date: 2025-01-31
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_model_tracking"
down_revision = None
branch_labels = None
depends_on = None


def _money() -> sa.types.TypeEngine:
    return sa.Numeric(18, 10).with_variant(sa.BigInteger(), "sqlite")


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "model_usage",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("execution_id", sa.String(255), nullable=True),
        sa.Column("node_id", sa.String(255), nullable=True),
        sa.Column("model_name", sa.String(100), nullable=False),
        sa.Column("provider", sa.String(50), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("total_tokens", sa.Integer(), nullable=False),
        sa.Column("cost", _money(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error_type", sa.String(64), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("is_fallback", sa.Boolean(), nullable=False),
        sa.Column("price_version", sa.String(64), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
    )
    op.create_index("ix_model_usage_execution_id", "model_usage", ["execution_id"])
    op.create_index("ix_model_usage_created_at", "model_usage", ["created_at"])
    op.create_index("ix_model_usage_model_created", "model_usage", ["model_name", "created_at"])
    op.create_table(
        "model_configurations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("provider", sa.String(50), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=True),
    )
    op.create_table(
        "budget_days",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("scope", sa.String(64), primary_key=True),
        sa.Column("spent", _money(), nullable=False),
        sa.Column("reserved", _money(), nullable=False),
        sa.Column("alerted", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "budget_reservations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("amount", _money(), nullable=False),
        sa.Column("execution_id", sa.String(255), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
    )
    op.create_index("ix_budget_reservations_created_at", "budget_reservations", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_budget_reservations_created_at", table_name="budget_reservations")
    op.drop_table("budget_reservations")
    op.drop_table("budget_days")
    op.drop_table("model_configurations")
    op.drop_index("ix_model_usage_model_created", table_name="model_usage")
    op.drop_index("ix_model_usage_created_at", table_name="model_usage")
    op.drop_index("ix_model_usage_execution_id", table_name="model_usage")
    op.drop_table("model_usage")
