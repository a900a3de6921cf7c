"""The troubleshooting page documents every error class: a new one without docs fails here.

Each exception class in ``auterity_ai_step.errors.__all__`` needs a ``##`` or ``###``
heading whose text is exactly the class name (so its anchor is the lower-cased name), and
under it, before the next heading, the three parts **What you see**, **Why** and **Fix**
in that order.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from auterity_ai_step import errors

PAGE = Path(__file__).resolve().parents[2] / "docs" / "guides" / "troubleshooting.md"
PARTS = ("**What you see**", "**Why**", "**Fix**")
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*(?:\{[^}]*\})?\s*$")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")

ERROR_CLASSES = sorted(
    name
    for name in errors.__all__
    if isinstance(getattr(errors, name), type) and issubclass(getattr(errors, name), BaseException)
)


def sections(text: str) -> dict[str, tuple[int, list[str]]]:
    """Heading text -> (level, the lines under it up to the next heading), outside code."""
    found: dict[str, tuple[int, list[str]]] = {}
    current: list[str] | None = None
    fence: str | None = None
    for line in text.splitlines():
        marker = _FENCE.match(line)
        if marker:
            if fence is None:
                fence = marker.group(1)
            elif marker.group(1).startswith(fence[0]) and len(marker.group(1)) >= len(fence):
                fence = None
        heading = _HEADING.match(line) if fence is None and not marker else None
        if heading:
            current = []
            found.setdefault(heading.group(2), (len(heading.group(1)), current))
        elif current is not None:
            current.append(line)
    return found


def problems(text: str) -> list[str]:
    """What the page lacks, one line per missing heading or part."""
    found = sections(text)
    out = []
    for name in ERROR_CLASSES:
        if name not in found or found[name][0] not in (2, 3):
            out.append(f"no '## {name}' or '### {name}' heading")
            continue
        body = [line.strip() for line in found[name][1]]
        positions = []
        for part in PARTS:
            hits = [i for i, line in enumerate(body) if line.startswith(part)]
            if not hits:
                out.append(f"{name}: no {part} part under its heading")
            else:
                positions.append(hits[0])
        if len(positions) == len(PARTS) and positions != sorted(positions):
            out.append(f"{name}: the parts are not in the order {', '.join(PARTS)}")
    return out


def test_the_errors_module_exports_error_classes() -> None:
    assert "AuterityAIError" in ERROR_CLASSES
    assert len(ERROR_CLASSES) >= 18, ERROR_CLASSES


def test_every_error_class_has_a_section_with_the_three_parts() -> None:
    missing = problems(PAGE.read_text("utf-8"))
    assert not missing, "docs/guides/troubleshooting.md:\n" + "\n".join(missing)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda t: t.replace("### RateLimited\n", "### Rate limited\n"), "RateLimited"),
        (lambda t: t.replace("### BadRequest\n", "#### BadRequest\n"), "BadRequest"),
        (
            lambda t: t.replace("### StoreError\n\n**What you see**", "### StoreError\n\nSeen"),
            "StoreError: no **What you see**",
        ),
    ],
    ids=["renamed heading", "heading too deep", "part missing"],
)
def test_the_check_notices_a_broken_page(change: Callable[[str], str], expected: str) -> None:
    text = PAGE.read_text("utf-8")
    broken = change(text)
    assert broken != text, "the page no longer has the text this test breaks"
    assert any(expected in line for line in problems(broken)), problems(broken)
