"""The registry of generated reference pages, and writing or checking them on disk.

``python -m docgen.pages`` writes every page; ``--check`` only compares and exits 1 listing
the stale ones, for CI. Paths are relative to the docs directory, as in ``mkdocs.yml``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

# Generating must never reach the network: LiteLLM would fetch its price map at import.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from . import (
    layers,
    reference_api,
    reference_cli,
    reference_errors,
    reference_policy,
    reference_python,
    reference_step,
)

__all__ = ["DOCS_DIR", "GENERATED", "main", "stale", "write_all"]

DOCS_DIR = Path(__file__).resolve().parent.parent / "docs"

GENERATED: dict[str, Callable[[], str]] = {
    "reference/step-config.md": reference_step.render,
    "reference/policy.md": reference_policy.render,
    "reference/cli.md": reference_cli.render,
    "reference/http-api.md": reference_api.render,
    "reference/python-api.md": reference_python.render,
    "reference/provider-errors.md": reference_errors.render,
    "reference/openapi.json": reference_api.render_openapi_json,
    "developer/architecture.md": layers.render_architecture,
}


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def write_all(docs_dir: str | os.PathLike[str] = DOCS_DIR) -> list[str]:
    """Write every generated file under ``docs_dir``; returns the paths whose content changed."""
    changed = []
    for rel, generate in GENERATED.items():
        path = Path(docs_dir) / rel
        text = generate()
        if _read(path) != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
            changed.append(rel)
    return changed


def stale(docs_dir: str | os.PathLike[str] = DOCS_DIR) -> list[str]:
    """The generated paths whose file is missing or differs from what would be generated."""
    return [rel for rel, generate in GENERATED.items() if _read(Path(docs_dir) / rel) != generate()]


def main(argv: Sequence[str] | None = None) -> int:
    """Write the pages, or with ``--check`` report stale ones (exit 1) without writing."""
    parser = argparse.ArgumentParser(prog="python -m docgen.pages", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only report stale pages")
    parser.add_argument("--docs-dir", type=Path, default=DOCS_DIR, help="the docs directory")
    args = parser.parse_args(argv)
    if args.check:
        found = stale(args.docs_dir)
        for rel in found:
            print(f"docs/{rel} is stale: run .venv/bin/python -m docgen", file=sys.stderr)
        return 1 if found else 0
    for rel in write_all(args.docs_dir):
        print(f"wrote docs/{rel}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
