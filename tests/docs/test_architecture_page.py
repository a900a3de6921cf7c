"""The architecture page's module table matches the package: every module, every name."""

from __future__ import annotations

import importlib
import re
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "auterity_ai_step"
PAGE = ROOT / "docs" / "developer" / "architecture.md"
_TICKED = re.compile(r"`([^`]+)`")


def _rows() -> list[tuple[list[str], list[str]]]:
    """(module files, public names) for each row of the module table."""
    rows = []
    for line in PAGE.read_text("utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        files: list[str] = []
        for name in _TICKED.findall(cells[0]):
            folder = files[0].rsplit("/", 1)[0] + "/" if files and "/" in files[0] else ""
            files.append(name if "/" in name.rstrip("/") or not files else folder + name)
        names = [re.sub(r"\(.*", "", n) for n in _TICKED.findall(cells[2])]
        rows.append((files, [n for n in names if n.isidentifier()]))
    return rows


def _module(path: str) -> str:
    return "auterity_ai_step." + path.removesuffix(".py").replace("/", ".")


def test_every_module_of_the_package_has_a_row() -> None:
    listed = {f for files, _ in _rows() for f in files}
    folders = {f.rstrip("/") for f in listed if f.endswith("/")}
    modules = {
        p.relative_to(PACKAGE).as_posix()
        for p in PACKAGE.rglob("*.py")
        if p.name not in ("__init__.py", "__main__.py")
        and not any(p.relative_to(PACKAGE).as_posix().startswith(d + "/") for d in folders)
    }
    missing = sorted(modules - listed)
    assert not missing, f"docs/developer/architecture.md has no row for: {missing}"


def test_every_row_names_existing_modules_and_names() -> None:
    problems = []
    for files, names in _rows():
        loaded = []
        for path in files:
            target = PACKAGE / path
            if not target.exists():
                problems.append(f"{path} does not exist")
            elif path.endswith(".py"):
                with warnings.catch_warnings():  # the deprecated paths warn on import
                    warnings.simplefilter("ignore", DeprecationWarning)
                    loaded.append(importlib.import_module(_module(path)))
        for name in names:
            if not any(hasattr(module, name) for module in loaded):
                problems.append(f"{name} is not defined in {files}")
    assert not problems, problems
