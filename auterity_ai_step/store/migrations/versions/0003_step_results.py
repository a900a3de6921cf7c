"""Step results: claims and recorded answers, so that a re-run of a step pays once.

Revision ID: 0003_step_results
Revises: 0002_usage_anomalies
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_step_results"
down_revision = "0002_usage_anomalies"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "step_results",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("execution_id", sa.String(255), nullable=True),
        sa.Column("node_id", sa.String(255), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(36), nullable=False),
        sa.Column("output", sa.JSON(), nullable=True),
        sa.Column("replays", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_step_results_execution_id", "step_results", ["execution_id"])


def downgrade() -> None:
    op.drop_index("ix_step_results_execution_id", table_name="step_results")
    op.drop_table("step_results")
