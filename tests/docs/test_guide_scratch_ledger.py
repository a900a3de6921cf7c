"""Guides that record calls do it in a scratch ledger: the reader's own ledger (and the
budget figures of the other guides) stay as they were. Each such guide exports
``AUTERITY_AI_DATABASE_URL`` to a file of its own before its first recording command, and
its last command drops that file; the docs runner runs the pages exactly that way."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from docgen.examples import Command, EnvStep, example_pages, parse_page

GUIDES = Path(__file__).resolve().parents[2] / "docs" / "guides"
# Commands that write a ledger: a step, the demo, the API (PUT /config), a host script.
_WRITES = re.compile(r"auterity-ai-step (run|demo|serve)\b|\bpython \S+\.py\b|\buvicorn\b")
_SCRATCH = re.compile(r"export AUTERITY_AI_DATABASE_URL=sqlite:///\$PWD/(?P<file>[\w.-]+\.db)$")


def _writing_guides() -> list[Path]:
    out = []
    for path in example_pages(GUIDES):
        page = parse_page(path)
        own_database = any(
            isinstance(s, EnvStep) and s.name == "AUTERITY_AI_DATABASE_URL" for s in page.steps
        )  # a guide about a database the reader sets up (PostgreSQL) names it itself
        if not own_database and any(_WRITES.search(c.text) for c in page.commands):
            out.append(path)
    return out


def test_the_guides_that_record_calls_are_found() -> None:
    names = {p.stem for p in _writing_guides()}
    assert {"first-step", "fallback-models", "cost-limits", "troubleshooting"} <= names


@pytest.mark.parametrize("path", _writing_guides(), ids=lambda p: p.stem)
def test_a_guide_that_records_starts_on_a_scratch_ledger_and_drops_it(path: Path) -> None:
    commands: list[Command] = parse_page(path).commands
    first_write = next(i for i, c in enumerate(commands) if _WRITES.search(c.text))
    scratch = [_SCRATCH.match(c.text.strip()) for c in commands[:first_write]]
    found = [m for m in scratch if m]
    assert found, f"{path.name}: no scratch ledger exported before `{commands[first_write].text}`"
    db = found[0]["file"]
    assert db == f"{path.stem}-ledger.db"
    last = commands[-1].text.strip()
    assert last.startswith(f"rm -f {db}*") and last.endswith("unset AUTERITY_AI_DATABASE_URL")
    text = path.read_text()
    assert "## Clean up" in text and "[Clean up](#clean-up)" in text
