"""Configuration from the environment, the same for CLI, executor, service and API.

``AUTERITY_AI_POLICY`` names the policy file (default: the bundled one) and
``AUTERITY_AI_DATABASE_URL`` the SQLAlchemy URL (default: a SQLite file in the user's data
directory). Read on every call, so tests and hosts can change them at run time.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

__all__ = ["DATABASE_ENV", "POLICY_ENV", "database_url", "default_database_path", "policy_path"]

POLICY_ENV = "AUTERITY_AI_POLICY"
DATABASE_ENV = "AUTERITY_AI_DATABASE_URL"
APP_NAME = "auterity-ai-step"


def policy_path() -> Path:
    """The policy file in force: ``$AUTERITY_AI_POLICY`` or the bundled default."""
    configured = os.environ.get(POLICY_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    from .resources import bundled_policy_path

    return bundled_policy_path()


def default_database_path(*, create_dir: bool = True) -> Path:
    """Where the embedded SQLite ledger lives by default (the directory is created unless
    ``create_dir`` is False)."""
    directory = Path(user_data_dir(APP_NAME, appauthor=False))
    if create_dir:
        directory.mkdir(parents=True, exist_ok=True)
    return directory / "ledger.db"


def database_url(*, create_dir: bool = True) -> str:
    """``$AUTERITY_AI_DATABASE_URL`` or a SQLite URL for :func:`default_database_path`
    (whose directory is created unless ``create_dir`` is False)."""
    configured = os.environ.get(DATABASE_ENV, "").strip()
    if configured:
        return configured
    return f"sqlite:///{default_database_path(create_dir=create_dir)}"
