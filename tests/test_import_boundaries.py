"""The import boundaries the architecture promises, checked on the source itself.

Only the gateway imports LiteLLM, only the store imports SQLAlchemy, only the template
sandbox imports Jinja2, only the API modules import FastAPI: so swapping or upgrading one
library touches one place. (Runtime tests check the fast commands never load LiteLLM; the
last test here checks what the console script's ``validate`` and ``schema`` load.)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from auterity_ai_step.resources import example_path

PACKAGE = Path(__file__).resolve().parents[1] / "auterity_ai_step"
OWNERS = {
    "litellm": {"routing/gateway.py"},
    "sqlalchemy": {"store/"},
    "alembic": {"store/"},
    "jinja2": {
        "contract/template_sandbox.py",
        "contract/template_guards.py",
        "contract/template_filters.py",
    },
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


# What the console script's validate and schema must not load, each of which they once did:
# the other command families' modules and typer's building of their commands cost about ten
# milliseconds of a cold start, platformdirs and logging a few each. (``schema`` loads no
# jsonschema either: tests/test_cli_contract.py; ``validate`` needs it.)
NOT_FOR_CONTRACT_COMMANDS = (
    "litellm",
    "aiohttp.web",
    "sqlalchemy",
    "rich",
    "platformdirs",
    "logging",
    *(f"auterity_ai_step.cli.{m}" for m in ("api_cmds", "money_cmds", "run_cmds")),
    *(f"auterity_ai_step.cli.{m}" for m in ("sim_cmds", "whatif_cmds")),
)
_PROBE = (
    "import json, sys\n"
    "from auterity_ai_step.cli import main\n"
    "sys.argv = ['auterity-ai-step', *sys.argv[1:]]\n"
    "code = 0\n"
    "try:\n"
    "    main()\n"
    "except SystemExit as exc:\n"
    "    code = exc.code\n"
    f"loaded = [m for m in {NOT_FOR_CONTRACT_COMMANDS!r} if m in sys.modules]\n"
    "print('LOADED', json.dumps(loaded), file=sys.stderr)\n"
    "sys.exit(code)\n"
)


@pytest.mark.parametrize(
    "args", [["validate", "customer_inquiry.step.yml"], ["schema"], ["--help"]], ids=str
)
def test_the_console_script_loads_only_what_its_command_uses(
    args: list[str], tmp_path: Path
) -> None:
    """``validate`` (of a valid step) and ``schema``, with the ledger URL configured, load
    none of the above; ``--help`` loads every command family, to list every command."""
    argv = [str(example_path(a)) if a.endswith(".yml") else a for a in args]
    env = {
        **os.environ,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "AUTERITY_AI_DATABASE_URL": f"sqlite:///{tmp_path / 'no-ledger-here.db'}",
    }
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("LOADED ")
    loaded = json.loads(last.removeprefix("LOADED "))
    if args == ["--help"]:
        assert {m for m in NOT_FOR_CONTRACT_COMMANDS if m.startswith("auterity_ai_step")} <= set(
            loaded
        )
    else:
        assert loaded == []
