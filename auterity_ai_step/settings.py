"""Configuration from the environment, the same for CLI, executor, service and API.

``AUTERITY_AI_POLICY`` names the policy file (default: the bundled one) and
``AUTERITY_AI_DATABASE_URL`` the SQLAlchemy URL (default: a SQLite file in the user's data
directory). ``AUTERITY_AI_ALLOWED_KEY_ENVS`` and ``AUTERITY_AI_ALLOWED_API_BASES`` (names or
URLs separated by commas or spaces) widen what stored model configurations may use beyond
the policy file's own key variables and API bases. Read on every call, so tests and hosts
can change them at run time.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "ALLOWED_API_BASES_ENV",
    "ALLOWED_KEY_ENVS_ENV",
    "CAPTURE_CONTENT_ENV",
    "DATABASE_ENV",
    "POLICY_ENV",
    "allowed_api_bases",
    "allowed_key_envs",
    "capture_content",
    "database_url",
    "default_database_path",
    "policy_path",
]

POLICY_ENV = "AUTERITY_AI_POLICY"
DATABASE_ENV = "AUTERITY_AI_DATABASE_URL"
ALLOWED_KEY_ENVS_ENV = "AUTERITY_AI_ALLOWED_KEY_ENVS"
ALLOWED_API_BASES_ENV = "AUTERITY_AI_ALLOWED_API_BASES"
CAPTURE_CONTENT_ENV = "AUTERITY_AI_CAPTURE_CONTENT"
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
    from platformdirs import user_data_dir  # here: a configured URL never needs it

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


def _listed(name: str) -> tuple[str, ...]:
    return tuple(item for item in os.environ.get(name, "").replace(",", " ").split() if item)


def allowed_key_envs() -> frozenset[str]:
    """Key variables stored configurations may name besides the policy file's own
    (``$AUTERITY_AI_ALLOWED_KEY_ENVS``)."""
    return frozenset(_listed(ALLOWED_KEY_ENVS_ENV))


def allowed_api_bases() -> tuple[str, ...]:
    """API bases (and the paths below them) stored configurations may use besides the
    policy file's own (``$AUTERITY_AI_ALLOWED_API_BASES``)."""
    return _listed(ALLOWED_API_BASES_ENV)


def capture_content() -> bool:
    """Whether spans record prompt and answer text (``$AUTERITY_AI_CAPTURE_CONTENT`` set to
    ``1``, ``true``, ``yes`` or ``on``); off by default, and redacted when on."""
    return os.environ.get(CAPTURE_CONTENT_ENV, "").strip().lower() in ("1", "true", "yes", "on")
