"""Shared test set-up: offline LiteLLM, isolated data directories."""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import ast
import itertools
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pg_server import EXTERNAL_ENV, PostgresServer, PostgresUnavailable, create_database

REQUIRE_POSTGRES = os.environ.get("AUTERITY_TEST_REQUIRE_POSTGRES") == "1"

# Tests see output as a pipe does, whatever launched them: xdist's workers inherit a
# terminal's COLUMNS/LINES (80x24) that would narrow the CLI's tables.
for _size in ("COLUMNS", "LINES"):
    os.environ.pop(_size, None)

if sys.version_info < (3, 12):  # pragma: no branch
    # CPython 3.11 shares the AST constructor's recursion counter between threads
    # (python/cpython#106905): LiteLLM's ast.literal_eval in a worker thread while pytest or
    # hypothesis parse in the main one can fail with "SystemError: AST constructor recursion
    # depth mismatch". Parse one at a time in the test process so the suite is not flaky.
    _AST_LOCK = threading.RLock()
    _parse = ast.parse

    def _serialised_parse(*args, **kwargs):  # type: ignore[no-untyped-def]
        with _AST_LOCK:
            return _parse(*args, **kwargs)

    ast.parse = _serialised_parse


@pytest.fixture(autouse=True)
def _isolated_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test touches the real user data directory or a shared default database."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("AUTERITY_AI_DATABASE_URL", f"sqlite:///{tmp_path / 'default-ledger.db'}")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite ledger file for one test."""
    return f"sqlite:///{tmp_path / 'ledger.db'}"


def _no_postgres(reason: str) -> None:
    """Skip with the reason, or fail when CI requires PostgreSQL."""
    if REQUIRE_POSTGRES:
        pytest.fail(f"PostgreSQL required (AUTERITY_TEST_REQUIRE_POSTGRES=1): {reason}")
    pytest.skip(f"no PostgreSQL: {reason}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The throwaway cluster itself (for tests that stop and start it)."""
    if os.environ.get(EXTERNAL_ENV):
        pytest.skip(f"{EXTERNAL_ENV} is set: an external server cannot be stopped by tests")
    try:
        server = PostgresServer()
        server.start()
    except (PostgresUnavailable, OSError) as exc:
        _no_postgres(str(exc))
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def postgres_url(request: pytest.FixtureRequest) -> str:
    """An administrative URL for a PostgreSQL server: external by env, else throwaway."""
    external = os.environ.get(EXTERNAL_ENV)
    if external:
        return external
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.url()


_databases = itertools.count()


@pytest.fixture
def pg_db_url(postgres_url: str) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    return create_database(postgres_url, f"auterity_t{os.getpid()}_{next(_databases)}")
