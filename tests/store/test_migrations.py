"""The shipped Alembic migration: upgrade/downgrade on SQLite and PostgreSQL, no drift.

Also how it meets a ledger that created its tables itself, and a host that runs Alembic in
the same database (its ``alembic_version`` is not ours).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from auterity_ai_step.store import Ledger, UsageRecord
from auterity_ai_step.store.migrations import (
    HEAD_REVISION,
    HERE,
    VERSION_TABLE,
    alembic_config,
)
from auterity_ai_step.store.tables import metadata

TABLES = {
    "model_usage",
    "model_configurations",
    "budget_days",
    "budget_reservations",
    "step_results",
    "budget_leases",
}
HEAD = "0005_budget_leases"
HOST_REVISION = "f00dcafe1234"


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
    assert _tables(db_url) == TABLES | {VERSION_TABLE}
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            # As env.py configures it (what ``alembic revision --autogenerate`` compares):
            # the version table is Alembic's own, not a difference.
            opts = {"compare_type": True, "version_table": VERSION_TABLE}
            context = MigrationContext.configure(conn, opts=opts)
            assert compare_metadata(context, metadata) == []
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
    assert _tables(db_url) == {VERSION_TABLE}


def test_url_from_environment(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTERITY_AI_DATABASE_URL", sqlite_url)
    command.upgrade(alembic_config(), "head")
    assert _tables(sqlite_url) >= TABLES


def _usage(tag: str) -> UsageRecord:
    return UsageRecord("e", tag, "m", "p", 1, 1, Decimal("0.5"), 1, "success", None, 1, False, None)


def _versions(url: str, table: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return sorted(conn.execute(text(f"SELECT version_num FROM {table}")).scalars())
    finally:
        engine.dispose()


def _alembic(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The command the upgrading guide gives: ``alembic -c <package>/alembic.ini ...``."""
    alembic = Path(sys.executable).with_name("alembic")
    env = {**os.environ, "AUTERITY_AI_DATABASE_URL": url}
    return subprocess.run(
        [str(alembic), "-c", str(HERE / "alembic.ini"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _host_alembic(url: str) -> None:
    """A host application's own Alembic history in the same database."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                    "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
                )
            )
            conn.execute(text(f"INSERT INTO alembic_version VALUES ('{HOST_REVISION}')"))
            conn.execute(text("CREATE TABLE workflows (id INTEGER PRIMARY KEY)"))
    finally:
        engine.dispose()


def test_ledger_first_then_upgrade_head_is_a_no_op(db_url: str) -> None:
    # A worker (or a CLI command) uses the fresh database before anyone migrates it.
    ledger = Ledger(db_url)
    ledger.record(_usage("before-migration"))
    ledger.close()
    assert _tables(db_url) == TABLES | {VERSION_TABLE}
    assert _versions(db_url, VERSION_TABLE) == [HEAD]

    upgraded = _alembic(db_url, "upgrade", "head")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "already exists" not in upgraded.stderr
    current = _alembic(db_url, "current")
    assert current.returncode == 0, current.stderr
    assert f"{HEAD} (head)" in current.stdout
    # Nothing was recreated: the row written before the migration is still there.
    again = Ledger(db_url, create_tables=False)
    assert [r["node_id"] for r in again.execution_usage("e")] == ["before-migration"]
    again.close()

    downgraded = _alembic(db_url, "downgrade", "base")
    assert downgraded.returncode == 0, downgraded.stderr
    assert _tables(db_url) == {VERSION_TABLE}
    assert _versions(db_url, VERSION_TABLE) == []


def test_head_revision_is_the_scripts_head() -> None:
    """The ledger recognises a ready schema by this name without loading Alembic: a new
    migration must move it, or every start would take the slow path."""
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(alembic_config()).get_heads() == [HEAD_REVISION]
    assert HEAD == HEAD_REVISION


def test_a_ledger_is_created_and_reopened_without_alembic(db_url: str) -> None:
    """A fresh database gets its tables and the head revision directly, and every later
    start finds it ready with one read: a worker never imports Alembic (about 11 MiB and
    tens of milliseconds) unless there is something to migrate."""
    probe = (
        "import sys\n"
        "from auterity_ai_step.store import Ledger, UsageRecord\n"
        "from decimal import Decimal\n"
        "ledger = Ledger(sys.argv[1])\n"
        "ledger.record(UsageRecord('e', sys.argv[2], 'm', 'p', 1, 1, Decimal(0), 1, 'success',"
        " None, 1, False, 'v'))\n"
        "rows = ledger.execution_usage('e')\n"
        "ledger.close()\n"
        "print(len(rows), 'alembic' in sys.modules)\n"
    )

    def start(node: str) -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", probe, db_url, node],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    assert start("created") == ["1", "False"]
    assert _versions(db_url, VERSION_TABLE) == [HEAD]
    assert start("reopened") == ["2", "False"]
    # Alembic agrees: the schema is at head, with nothing to upgrade.
    current = _alembic(db_url, "current")
    assert current.returncode == 0, current.stderr
    assert f"{HEAD} (head)" in current.stdout
    # A ledger one revision behind still takes the migration path, and ends at head.
    command.downgrade(alembic_config(db_url), "0004_step_routing")
    assert start("migrated") == ["3", "True"]
    assert _versions(db_url, VERSION_TABLE) == [HEAD]


def test_ledger_stamps_tables_an_older_build_created(db_url: str) -> None:
    # An older build created the tables with create_all and recorded no revision.
    engine = create_engine(db_url)
    try:
        metadata.create_all(engine)
    finally:
        engine.dispose()
    assert VERSION_TABLE not in _tables(db_url)

    ledger = Ledger(db_url)
    ledger.record(_usage("older-build"))
    ledger.close()
    assert _versions(db_url, VERSION_TABLE) == [HEAD]
    command.upgrade(alembic_config(db_url), "head")  # nothing to do
    command.downgrade(alembic_config(db_url), "base")
    assert _tables(db_url) == {VERSION_TABLE}


def test_ledger_upgrades_a_ledger_an_older_version_migrated(db_url: str) -> None:
    config = alembic_config(db_url)
    command.upgrade(config, "0001_model_tracking")
    assert "step_results" not in _tables(db_url)
    older = Ledger(db_url, create_tables=False)
    older.record(_usage("before-upgrade"))
    older.close()
    ledger = Ledger(db_url)
    ledger.record(_usage("after-upgrade"))
    assert sorted(r["node_id"] for r in ledger.execution_usage("e")) == [
        "after-upgrade",
        "before-upgrade",
    ]
    ledger.close()
    assert _tables(db_url) == TABLES | {VERSION_TABLE}
    assert _versions(db_url, VERSION_TABLE) == [HEAD]


def test_ledger_creates_nothing_once_alembic_manages_the_schema(db_url: str) -> None:
    config = alembic_config(db_url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    # Migrated down to base: the version table is empty, so a ledger starts afresh.
    ledger = Ledger(db_url)
    ledger.record(_usage("after-downgrade"))
    ledger.close()
    assert _versions(db_url, VERSION_TABLE) == [HEAD]
    command.upgrade(config, "head")
    assert _tables(db_url) == TABLES | {VERSION_TABLE}


def test_host_alembic_version_is_left_alone(db_url: str) -> None:
    _host_alembic(db_url)
    config = alembic_config(db_url)
    command.upgrade(config, "head")
    assert _tables(db_url) == TABLES | {VERSION_TABLE, "alembic_version", "workflows"}
    assert _versions(db_url, "alembic_version") == [HOST_REVISION]
    assert _versions(db_url, VERSION_TABLE) == [HEAD]
    ledger = Ledger(db_url)  # migrated: the ledger only uses the tables
    ledger.record(_usage("host-db"))
    ledger.close()
    command.downgrade(config, "base")
    assert _tables(db_url) == {VERSION_TABLE, "alembic_version", "workflows"}
    assert _versions(db_url, "alembic_version") == [HOST_REVISION]


def test_ledger_first_in_a_host_alembic_database(db_url: str) -> None:
    _host_alembic(db_url)
    ledger = Ledger(db_url)
    ledger.record(_usage("host-db"))
    ledger.close()
    assert _versions(db_url, "alembic_version") == [HOST_REVISION]
    assert _versions(db_url, VERSION_TABLE) == [HEAD]
    upgraded = _alembic(db_url, "upgrade", "head")
    assert upgraded.returncode == 0, upgraded.stderr
    assert _versions(db_url, "alembic_version") == [HOST_REVISION]
    assert _versions(db_url, VERSION_TABLE) == [HEAD]


def test_concurrent_first_uses_create_and_stamp_once(db_url: str) -> None:
    import threading

    ledgers = [Ledger(db_url) for _ in range(4)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(ledgers))

    def first_use(ledger: Ledger, n: int) -> None:
        try:
            start.wait()
            ledger.record(_usage(f"worker-{n}"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=first_use, args=(ledger, n)) for n, ledger in enumerate(ledgers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _versions(db_url, VERSION_TABLE) == [HEAD]
    assert len(ledgers[0].execution_usage("e")) == len(ledgers)
    for ledger in ledgers:
        ledger.close()


@pytest.mark.postgres
def _store_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The store's own warnings only (other libraries' threads may log meanwhile)."""
    return [r.getMessage() for r in caplog.records if r.name.startswith("auterity_ai_step.store")]


def test_older_tables_used_by_a_role_that_cannot_create(
    pg_db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # An older build's tables, used by a role that may read and write them but not create a
    # table: the revision cannot be recorded, and the ledger works anyway (as it did).
    url = make_url(pg_db_url)
    role = f"ledger_rw_{url.database}"
    admin = create_engine(pg_db_url)
    try:
        metadata.create_all(admin)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
            conn.execute(text("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
            rights = "SELECT, INSERT, UPDATE, DELETE"
            conn.execute(text(f'GRANT {rights} ON ALL TABLES IN SCHEMA public TO "{role}"'))
            conn.execute(text(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO "{role}"'))
        restricted = url.set(username=role).render_as_string(hide_password=False)
        with caplog.at_level(logging.WARNING, logger="auterity_ai_step.store"):
            ledger = Ledger(restricted)
            ledger.record(_usage("restricted"))
            assert [r["node_id"] for r in ledger.execution_usage("e")] == ["restricted"]
            ledger.close()
        assert _store_messages(caplog) == [
            f"the ledger's tables exist but their revision could not be recorded in "
            f"{VERSION_TABLE} (ProgrammingError): run the shipped Alembic migration's stamp "
            "head as a role that may create tables"
        ]
        assert VERSION_TABLE not in _tables(pg_db_url)
        # The owner records it. Until the role may read the version table, its ledger says
        # so and uses the tables as they are; then it has nothing left to do.
        command.stamp(alembic_config(pg_db_url), "head")
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="auterity_ai_step.store"):
            ledger = Ledger(restricted)
            ledger.record(_usage("version-unreadable"))
            ledger.close()
        assert _store_messages(caplog) == [
            f"cannot read the ledger's revision in {VERSION_TABLE} (ProgrammingError); its "
            f"tables exist, so they are used as they are: grant this role SELECT on "
            f"{VERSION_TABLE}"
        ]
        with admin.begin() as conn:
            conn.execute(text(f'GRANT SELECT ON {VERSION_TABLE} TO "{role}"'))
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="auterity_ai_step.store"):
            ledger = Ledger(restricted)
            ledger.record(_usage("after-stamp"))
            ledger.close()
        assert caplog.records == []
        assert _versions(pg_db_url, VERSION_TABLE) == [HEAD]
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


FIRST = "0001_model_tracking"
BIG = 10**12  # tokens a provider may report: more than a 32-bit column holds


def _hostile_usage(tag: str) -> UsageRecord:
    return UsageRecord(
        "e", tag, "m", "p", BIG, BIG, Decimal("0.5"), 1, "success", None, 1, False, None,
        usage_anomaly="over_max_tokens: test",
    )  # fmt: skip


def _insert_0001_row(url: str) -> None:
    """A row as revision 0001 stored it (32-bit counts, no anomaly column)."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO model_usage (id, execution_id, node_id, model_name, provider, "
                    "prompt_tokens, completion_tokens, total_tokens, cost, latency_ms, status, "
                    "attempt, is_fallback, created_at) VALUES ('old-row', 'e', 'old', 'm', 'p', "
                    "1, 2, 3, 5, 1, 'success', 1, false, CURRENT_TIMESTAMP)"
                )
            )
    finally:
        engine.dispose()


def test_upgrade_from_0001_keeps_rows_and_takes_64_bit_counts(db_url: str) -> None:
    config = alembic_config(db_url)
    command.upgrade(config, FIRST)
    _insert_0001_row(db_url)
    command.upgrade(config, "head")
    assert _versions(db_url, VERSION_TABLE) == [HEAD]
    ledger = Ledger(db_url, create_tables=False)
    ledger.record(_hostile_usage("big"))
    rows = {r["node_id"]: r for r in ledger.execution_usage("e")}
    ledger.close()
    assert rows["old"]["total_tokens"] == 3 and rows["old"]["usage_anomaly"] is None
    assert rows["big"]["total_tokens"] == 2 * BIG
    assert rows["big"]["usage_anomaly"] == "over_max_tokens: test"
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            opts = {"compare_type": True, "version_table": VERSION_TABLE}
            assert compare_metadata(MigrationContext.configure(conn, opts=opts), metadata) == []
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM model_usage WHERE node_id = 'big'"))
    finally:
        engine.dispose()
    command.downgrade(config, FIRST)
    assert _versions(db_url, VERSION_TABLE) == [FIRST]
    command.downgrade(config, "base")
    assert _tables(db_url) == {VERSION_TABLE}


def test_ledger_migrates_a_0001_database_itself(db_url: str) -> None:
    # A database a previous release migrated: the new ledger must not meet missing columns.
    command.upgrade(alembic_config(db_url), FIRST)
    _insert_0001_row(db_url)
    ledger = Ledger(db_url)
    ledger.record(_hostile_usage("after-upgrade"))
    assert {r["node_id"] for r in ledger.execution_usage("e")} == {"old", "after-upgrade"}
    ledger.close()
    assert _versions(db_url, VERSION_TABLE) == [HEAD]


def test_ledger_migrates_an_older_builds_unstamped_tables(db_url: str) -> None:
    # An older build's create_all made 0001's tables and recorded no revision.
    command.upgrade(alembic_config(db_url), FIRST)
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"DELETE FROM {VERSION_TABLE}"))
    finally:
        engine.dispose()
    ledger = Ledger(db_url)
    ledger.record(_hostile_usage("older-build"))
    ledger.close()
    assert _versions(db_url, VERSION_TABLE) == [HEAD]
    columns = {c["name"] for c in inspect(create_engine(db_url)).get_columns("model_usage")}
    assert "usage_anomaly" in columns
