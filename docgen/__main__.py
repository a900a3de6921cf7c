"""``python -m docgen``: regenerate the reference pages and refresh the guides' outputs.

    python -m docgen                  # write generated pages, re-run every example page
    python -m docgen --check          # exit 1 if a generated page or an example is stale
    python -m docgen docs/guides/x.md # only these example pages (no reference pages)

Pages with ``<!-- docgen: env NAME={postgres_url} -->`` need a PostgreSQL URL:
``--postgres-url`` or ``$AUTERITY_DOCS_POSTGRES_URL``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .examples import check_page, example_pages, parse_page, update_page

DOCS = Path(__file__).resolve().parent.parent / "docs"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m docgen", description=__doc__.split("\n")[0])
    parser.add_argument("pages", nargs="*", type=Path, help="example pages (default: all)")
    parser.add_argument("--check", action="store_true", help="report stale pages, change none")
    parser.add_argument("--postgres-url", default=os.environ.get("AUTERITY_DOCS_POSTGRES_URL", ""))
    args = parser.parse_args(argv)
    variables = {"postgres_url": args.postgres_url}
    problems: list[str] = []
    if not args.pages:
        from .pages import stale, write_all

        if args.check:
            problems += [f"docs/{p} is stale: run python -m docgen" for p in stale(DOCS)]
        else:
            write_all(DOCS)
    for page in args.pages or example_pages(DOCS):
        if "postgres_url" in parse_page(page).needs and not args.postgres_url:
            print(f"skipped {page}: needs --postgres-url", file=sys.stderr)
            continue
        if args.check:
            problems += check_page(page, variables)
        else:
            changed = update_page(page, variables)
            print(f"{'updated' if changed else 'unchanged'} {page}")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
