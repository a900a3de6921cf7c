"""Model configurations stored in the ledger (``model_configurations``), read and replaced."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError

from ..errors import StoreError
from . import queries
from .connect import db_reason, ledger_engine, ledger_url
from .database import Database
from .tables import model_configurations

__all__ = ["ModelConfigurations", "stored_model_configurations"]


class ModelConfigurations:
    """The stored model configurations of one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def read(self) -> tuple[str, dict[str, dict[str, Any]]]:
        """(version token, {name: config}) of the active rows; the token changes with them."""
        return self.db.run(queries.model_configurations)

    def replace(self, configs: Mapping[str, Mapping[str, Any]]) -> None:
        """Replace all model configurations in one transaction (validate them first)."""
        self.db.run(lambda conn: queries.put_model_configurations(conn, configs))


def stored_model_configurations(
    url: str | None = None,
) -> tuple[str, dict[str, dict[str, Any]]] | None:
    """The ledger's model configurations, as :meth:`Ledger.model_configurations` gives them,
    read without creating anything: no database file, directory or table.

    For readers that must not create a ledger as a side effect (the CLI's contract commands).
    ``url`` defaults to ``settings.database_url()``. ``None`` when there is nothing to read:
    a SQLite URL whose file does not exist (or an in-memory one), or a database without the
    ``model_configurations`` table. StoreError, naming the database (password hidden) and
    the problem, when it cannot be read.
    """
    if url is None:
        from ..settings import database_url

        url = database_url(create_dir=False)
    parsed = ledger_url(url)
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if not database or database == ":memory:" or not Path(database).is_file():
            return None
    engine = ledger_engine(parsed)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table(model_configurations.name):
                return None
            return queries.model_configurations(conn)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read the ledger database {shown}: {db_reason(exc)}") from exc
    finally:
        engine.dispose()
