"""The import boundaries the architecture promises, checked on the source itself.

Only the gateway imports LiteLLM, only the store imports SQLAlchemy, only the template
sandbox imports Jinja2, only the API module imports FastAPI: so swapping or upgrading one
library touches one place. (Runtime tests check the fast commands never load LiteLLM.)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "auterity_ai_step"
OWNERS = {
    "litellm": {"routing/gateway.py"},
    "sqlalchemy": {"store/"},
    "alembic": {"store/"},
    "jinja2": {"contract/template_sandbox.py"},
    "fastapi": {"api.py"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


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
