"""The shipped Alembic migration: upgrade/downgrade on SQLite and PostgreSQL, no drift."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from auterity_ai_step.store import Ledger, UsageRecord
from auterity_ai_step.store.migrations import alembic_config
from auterity_ai_step.store.tables import Base

TABLES = {"model_usage", "model_configurations", "budget_days", "budget_reservations"}


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "pg_db_url"
    return str(request.getfixturevalue(name))


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_matches_tables_then_downgrade(db_url: str) -> None:
    config = alembic_config(db_url)
    command.upgrade(config, "head")
    assert _tables(db_url) == TABLES | {"alembic_version"}
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()
    # The ledger works on the migrated schema without creating anything itself.
    ledger = Ledger(db_url, create_tables=False)
    ledger.record(
        UsageRecord(
            "e",
            None,
            "m",
            "p",
            1,
            1,
            Decimal("0.0000000001"),
            1,
            "success",
            None,
            1,
            False,
            None,
            created_at=datetime.now(UTC),
        )
    )
    assert ledger.execution_usage("e")[0]["cost"] == Decimal("1E-10")
    ledger.close()
    command.downgrade(config, "base")
    assert _tables(db_url) == {"alembic_version"}


def test_url_from_environment(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTERITY_AI_DATABASE_URL", sqlite_url)
    command.upgrade(alembic_config(), "head")
    assert _tables(sqlite_url) >= TABLES
