"""Step routing: what ``whatif`` needs to route a recorded step again under another policy.

- ``model_usage.step_run``: one id per run of the attempt loop, so attempts group into steps.
- ``model_usage.task_type``, ``cost_preference``, ``config_hash``: the step's routing knobs
  and a hash of its whole config.
- ``model_usage.routing``: the rest of them as JSON (model, fallback_models, max_tokens,
  cost_limit, policy_fallbacks, legacy, the prompt tokens counted before the call).

Older rows keep NULL in these columns; a replay routes them with what they have.

Revision ID: 0004_step_routing
Revises: 0003_step_results
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_step_routing"
down_revision = "0003_step_results"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("step_run", sa.String(36)),
    ("task_type", sa.String(100)),
    ("cost_preference", sa.String(16)),
    ("config_hash", sa.String(64)),
    ("routing", sa.JSON()),
)


def upgrade() -> None:
    with op.batch_alter_table("model_usage") as batch:
        for name, kind in _COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("model_usage") as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
