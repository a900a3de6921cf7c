"""The ledger's tables on first use, recorded where Alembic looks for them.

A ledger that finds no revision in its version table (``migrations.VERSION_TABLE``: a fresh
database, one whose tables an older build created without Alembic, or one migrated down to
``base``) creates the missing tables and stamps the head revision, in one transaction. A
later ``alembic ... upgrade head`` then has nothing to do, and ``downgrade`` and future
upgrades start from the right revision. A ledger that finds an older revision of this
package (or an older build's tables) runs the shipped migrations up to head itself, in the
same transaction: a write must never meet a column the code expects and the table lacks.
A revision it does not know (a newer build's) is left alone with a warning.

Alembic is imported only when there is something to migrate or stamp: a ledger already
at this package's head (every start after the first) is recognised by one read of the
version table, and a fresh database gets its tables and the head revision (in Alembic's
own version table) directly. A worker then never pays Alembic's import (about 11 MiB, and
tens of milliseconds of its first transaction).

Concurrent first uses run one at a time: SQLite transactions begin IMMEDIATE (one writer),
and on PostgreSQL the transaction takes an advisory lock, the same one the shipped
``env.py`` takes around a migration.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    inspect,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError

from .connect import unreachable
from .migrations import (
    FIRST_REVISION,
    HEAD_REVISION,
    SCHEMA_LOCK_KEY,
    VERSION_TABLE,
    alembic_config,
)
from .tables import metadata

if TYPE_CHECKING:
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

__all__ = ["ensure_schema"]

log = logging.getLogger("auterity_ai_step.store")


def ensure_schema(engine: Engine) -> None:
    """Create the ledger's missing tables and stamp the head revision, unless Alembic
    already manages the schema (the version table holds a revision)."""
    with engine.begin() as conn:
        if _revisions(conn) == {HEAD_REVISION}:
            return  # every start after the first: one read, no lock, no Alembic
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
        revisions = _revisions(conn)
        if revisions == {HEAD_REVISION}:
            return  # another worker made it ready while this one waited for the lock
        if revisions == set() and not _has_tables(conn):
            _create(conn)
        else:
            _ensure(conn)


# Alembic's own version table (``DefaultImpl.version_table_impl``), made here so that a
# fresh ledger is created and stamped without importing Alembic.
_VERSIONS = Table(
    VERSION_TABLE,
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name=f"{VERSION_TABLE}_pkc"),
)


def _revisions(conn: Connection) -> set[str] | None:
    """The revisions in the version table (empty without one); None when it cannot be
    read, which only means "ask Alembic" (read in a savepoint, so the transaction lives)."""
    try:
        if not conn.dialect.has_table(conn, VERSION_TABLE):
            return set()
        with conn.begin_nested():
            return set(conn.execute(select(_VERSIONS.c.version_num)).scalars())
    except DBAPIError as exc:
        if unreachable(exc):
            raise
        return None


def _create(conn: Connection) -> None:
    """A fresh database: every table, and the head revision stamped, as Alembic would."""
    metadata.create_all(conn)
    _VERSIONS.create(conn, checkfirst=True)
    conn.execute(_VERSIONS.insert().values(version_num=HEAD_REVISION))


def _ensure(conn: Connection) -> None:
    """Tables an older build made, an older revision, or one this version does not know:
    Alembic stamps, migrates or leaves them, under the schema lock ``ensure_schema`` holds."""
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    script = ScriptDirectory.from_config(alembic_config())
    try:
        with conn.begin_nested():
            current = context.get_current_heads()
    except DBAPIError as exc:
        if unreachable(exc) or not _has_tables(conn):
            raise
        # A role that may use the tables but not read the version table: use them as is.
        log.warning(
            "cannot read the ledger's revision in %s (%s); its tables exist, so they are "
            "used as they are: grant this role SELECT on %s",
            VERSION_TABLE,
            exc.__class__.__name__,
            VERSION_TABLE,
        )
        return
    if current:
        heads = script.get_heads()
        if set(current) == set(heads):
            return
        if all(_known(script, revision) for revision in current):
            _upgrade(conn)
            return
        log.warning(
            "the ledger schema is at revision %s, this version of auterity-ai-step "
            "expects %s: it was migrated by a newer version",
            ", ".join(current),
            ", ".join(heads),
        )
        return
    if _has_tables(conn):
        _stamp_existing(conn, context, script)
        return
    metadata.create_all(conn)
    context.stamp(script, "head")


def _stamp_existing(conn: Connection, context: MigrationContext, script: ScriptDirectory) -> None:
    """Record the revision of tables an older build made without one, then upgrade them."""
    # An older build's tables: only the revision is missing. A role that may use the
    # tables but not create one (the version table) still gets a working ledger.
    first = "head" if _has_current_columns(conn) else FIRST_REVISION
    try:
        with conn.begin_nested():
            context.stamp(script, first)
    except DBAPIError as exc:
        if unreachable(exc):
            raise
        log.warning(
            "the ledger's tables exist but their revision could not be recorded in %s "
            "(%s): run the shipped Alembic migration's stamp head as a role that may "
            "create tables",
            VERSION_TABLE,
            exc.__class__.__name__,
        )
        return
    if first != "head":
        _upgrade(conn)


def _upgrade(conn: Connection) -> None:
    """Run the shipped migrations up to head on ``conn`` (inside its transaction)."""
    from alembic import command

    url = conn.engine.url.render_as_string(hide_password=False)
    config = alembic_config(url)
    config.attributes["connection"] = conn
    try:
        with conn.begin_nested():
            command.upgrade(config, "head")
    except DBAPIError as exc:
        if unreachable(exc):
            raise
        log.warning(
            "the ledger schema could not be migrated to the current revision (%s): run the "
            "shipped Alembic migration (upgrade head) as a role that may alter tables",
            exc.__class__.__name__,
        )
        return
    log.info("ledger schema migrated to the current revision")


def _has_current_columns(conn: Connection) -> bool:
    """Whether existing tables already have every column this version defines."""
    inspector = inspect(conn)
    names = set(inspector.get_table_names())
    for table in metadata.sorted_tables:
        if table.name not in names:
            return False
        present = {column["name"] for column in inspector.get_columns(table.name)}
        if not set(table.columns.keys()) <= present:
            return False
    return True


# The tables the first revision made: an older build that created these without a revision
# is migrated from there (later revisions add tables as well as columns).
_FIRST_TABLES = frozenset(
    {"model_usage", "model_configurations", "budget_days", "budget_reservations"}
)


def _has_tables(conn: Connection) -> bool:
    """Whether the ledger's tables (at least those of the first revision) exist already."""
    return set(inspect(conn).get_table_names()) >= _FIRST_TABLES


def _known(script: ScriptDirectory, revision: str) -> bool:
    from alembic.util import CommandError

    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False
