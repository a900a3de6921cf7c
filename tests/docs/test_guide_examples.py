"""Every console example in the docs prints what the page says it prints.

Each page runs in a fresh working directory with no provider keys, exactly as a reader
would paste it (see ``docgen.examples``); a page whose commands now print something else
fails here with a diff, so a guide cannot drift from the code.

The pages' ``auterity-ai-step`` commands run warm (``docgen.warm_cli``): each in its own
process, forked from one server that imported the CLI and LiteLLM once for the module,
instead of paying that import per command.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from docgen.examples import check_page, example_pages, parse_page, warm_cli
from docgen.warm_cli import WarmCLI

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = example_pages(DOCS)


def test_the_docs_have_runnable_guides() -> None:
    names = {p.relative_to(DOCS).as_posix() for p in PAGES}
    assert "guides/first-step.md" in names
    assert len(names) >= 5, names


@pytest.fixture(scope="module")
def warm() -> Iterator[WarmCLI]:
    server = warm_cli()
    yield server
    server.close()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_page_output_is_what_its_commands_print(
    page: Path, request: pytest.FixtureRequest, warm: WarmCLI
) -> None:
    variables = {}
    if "postgres_url" in parse_page(page).needs:
        variables["postgres_url"] = request.getfixturevalue("pg_db_url")
    problems = check_page(page, variables, warm=warm)
    assert not problems, "\n\n".join(problems)
