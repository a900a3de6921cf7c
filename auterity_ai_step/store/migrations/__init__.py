"""The shipped Alembic environment for hosts that manage the schema themselves.

``alembic -c <this dir>/alembic.ini upgrade head`` (URL from ``sqlalchemy.url``, else
``AUTERITY_AI_DATABASE_URL``, else the default SQLite file), or from Python::

    from alembic import command
    from auterity_ai_step.store.migrations import alembic_config
    command.upgrade(alembic_config("postgresql+psycopg://..."), "head")
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def alembic_config(url: str | None = None):  # type: ignore[no-untyped-def]
    """An Alembic ``Config`` for this package's migrations, optionally bound to ``url``."""
    from alembic.config import Config

    config = Config(str(HERE / "alembic.ini"))
    config.set_main_option("script_location", str(HERE))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config
