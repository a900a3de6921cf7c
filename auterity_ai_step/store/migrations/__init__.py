"""The shipped Alembic environment for hosts that manage the schema themselves.

``alembic -c <this dir>/alembic.ini upgrade head`` (URL from ``sqlalchemy.url``, else
``AUTERITY_AI_DATABASE_URL``, else the default SQLite file), or from Python::

    from alembic import command
    from auterity_ai_step.store.migrations import alembic_config
    command.upgrade(alembic_config("postgresql+psycopg://..."), "head")

The revision is kept in a version table of its own, :data:`VERSION_TABLE`, not Alembic's
default ``alembic_version``: a host whose own migrations use that table in the same database
keeps its history, and ours never collides with it.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent

#: Where the ledger's Alembic revision is kept (the host's ``alembic_version`` is left alone).
VERSION_TABLE = "auterity_ai_step_alembic_version"

#: The first revision: what tables created before Alembic managed them (no revision) are.
FIRST_REVISION = "0001_model_tracking"

#: The head revision of ``versions/``: a ledger already there is ready without loading
#: Alembic (``tests/store/test_migrations.py`` checks it against the scripts' head).
HEAD_REVISION = "0005_budget_leases"

#: The PostgreSQL advisory lock taken while the ledger's schema is created or migrated, so
#: that workers starting together and a concurrent ``alembic upgrade`` run one at a time.
SCHEMA_LOCK_KEY = 0x4155_5445_5249_5459  # "AUTERITY"


def alembic_config(url: str | None = None):  # type: ignore[no-untyped-def]
    """An Alembic ``Config`` for this package's migrations, optionally bound to ``url``."""
    from alembic.config import Config

    config = Config(str(HERE / "alembic.ini"))
    config.set_main_option("script_location", str(HERE))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config
