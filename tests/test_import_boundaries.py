"""The import boundaries the architecture promises, checked on the source itself.

Only the gateway imports LiteLLM, only the store imports SQLAlchemy, only the template
sandbox imports Jinja2, only the API modules import FastAPI: so swapping or upgrading one
library touches one place. (Runtime tests check the fast commands never load LiteLLM.)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "auterity_ai_step"
OWNERS = {
    "litellm": {"routing/gateway.py"},
    "sqlalchemy": {"store/"},
    "alembic": {"store/"},
    "jinja2": {"contract/template_sandbox.py", "contract/template_filters.py"},
    "fastapi": {"api/"},
}


_IMPORT = re.compile(r"^\s*(?:import|from)\s+([A-Za-z_]\w*)", re.M)


def _imports(path: Path) -> set[str]:
    """Top-level names of absolute imports, at any indent (lazy imports count too).

    A regular expression rather than ``ast``: CPython 3.11's ``ast.parse`` can fail with
    "AST constructor recursion depth mismatch" late in a long test session.
    """
    return set(_IMPORT.findall(path.read_text("utf-8")))


@pytest.mark.parametrize("library", sorted(OWNERS))
def test_only_its_owner_imports(library: str) -> None:
    owners = OWNERS[library]
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        owned = any(rel == o or (o.endswith("/") and rel.startswith(o)) for o in owners)
        if library in _imports(path) and not owned:
            offenders.append(rel)
    assert not offenders, f"{library} is imported outside {sorted(owners)}: {offenders}"


_ORM = re.compile(
    r"^\s*(?:import\s+sqlalchemy\.orm|from\s+sqlalchemy(?:\.orm|\s+import\s.*\borm\b))", re.M
)


def test_nothing_imports_sqlalchemy_orm() -> None:
    """The ledger is SQLAlchemy Core only (``store/tables.py``): the ORM would add about
    5.6 MiB to every worker. ``tests/store/test_no_orm.py`` checks a running step too."""
    offenders = [
        path.relative_to(PACKAGE).as_posix()
        for path in sorted(PACKAGE.rglob("*.py"))
        if _ORM.search(path.read_text("utf-8"))
    ]
    assert not offenders, f"sqlalchemy.orm is imported by {offenders}"
