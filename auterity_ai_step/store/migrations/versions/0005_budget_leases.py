"""Budget leases: a worker's slice of a budget day, and the lease a reservation is held in.

Revision ID: 0005_budget_leases
Revises: 0004_step_routing
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_budget_leases"
down_revision = "0004_step_routing"
branch_labels = None
depends_on = None


def _money() -> sa.types.TypeEngine:
    return sa.Numeric(18, 10).with_variant(sa.BigInteger(), "sqlite")


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "budget_leases",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("amount", _money(), nullable=False),
        sa.Column("held", _money(), nullable=False),
        sa.Column("spent", _money(), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("granted_at", _time(), nullable=False),
        sa.Column("expires_at", _time(), nullable=False),
        sa.Column("returned_at", _time(), nullable=True),
    )
    op.create_index("ix_budget_leases_open", "budget_leases", ["returned_at", "expires_at"])
    with op.batch_alter_table("budget_reservations") as batch:
        batch.add_column(sa.Column("lease_id", sa.Integer(), nullable=True))
    op.create_index("ix_budget_reservations_lease_id", "budget_reservations", ["lease_id"])


def downgrade() -> None:
    op.drop_index("ix_budget_reservations_lease_id", table_name="budget_reservations")
    with op.batch_alter_table("budget_reservations") as batch:
        batch.drop_column("lease_id")
    op.drop_index("ix_budget_leases_open", table_name="budget_leases")
    op.drop_table("budget_leases")
