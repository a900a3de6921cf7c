"""The documentation site builds in MkDocs strict mode: no broken link, anchor or page."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_mkdocs_strict_build_has_no_warnings(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        # Material prints a banner about MkDocs 2.0 on stderr; it is not about our pages.
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert "WARNING" not in done.stderr, done.stderr[-4000:]
    assert (tmp_path / "index.html").is_file()
    assert (tmp_path / "reference" / "step-config" / "index.html").is_file()
    home = (tmp_path / "index.html").read_text()
    # Wide console tables and commands scroll or wrap in their box, never cut off.
    assert 'href="stylesheets/extra.css"' in home
    css = (tmp_path / "stylesheets" / "extra.css").read_text()
    assert ".language-console pre > code" in css and "overflow-x: auto" in css
    # Every navigation heading has pages under it, or is a page itself ("Operations").
    nav = home.partition('class="md-nav md-nav--primary"')[2]
    assert re.search(r'<a href="operations/"[^>]*>\s*<span class="md-ellipsis">\s*Operations', nav)


def test_commands_on_the_home_page_fit_their_box() -> None:
    """The install commands are one short line each (a long one was cut off on the site)."""
    page = (ROOT / "docs" / "index.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", page, re.S)
    assert blocks
    assert all(len(line) <= 80 for block in blocks for line in block.splitlines())


def _nav_pages(entries: list[object]) -> list[str]:
    pages: list[str] = []
    for entry in entries:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        if isinstance(value, list):
            pages += _nav_pages(value)
        else:
            pages.append(str(value))
    return pages


def test_every_page_is_in_the_navigation() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    in_nav = set(_nav_pages(config["nav"]))
    on_disk = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert on_disk == in_nav
