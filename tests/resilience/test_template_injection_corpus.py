"""The injection corpus is bounded in memory too (``tests/contract`` checks the families).

Every payload family the issue lists (attribute walks, ``cycler``/``joiner`` globals,
``config``, ``request``, format-string tricks, huge loops) is already refused with a named
error by ``tests/contract/test_template_injection.py``; what it does not check is memory.
"""

from __future__ import annotations

import importlib.util
import tracemalloc
from pathlib import Path

import pytest

from auterity_ai_step.contract.templates import render_template
from auterity_ai_step.errors import TemplateError

_SOURCE = Path(__file__).resolve().parent.parent / "contract" / "test_template_injection.py"
_SPEC = importlib.util.spec_from_file_location("_injection_corpus", _SOURCE)
assert _SPEC is not None and _SPEC.loader is not None
_MODULE = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(_MODULE)
CORPUS: list[tuple[str, str]] = _MODULE.CORPUS
VARS = _MODULE.VARS
PEAK_LIMIT = 16 * 2**20  # far below what any unbounded payload would allocate


@pytest.mark.parametrize("payload", [p for p, _ in CORPUS], ids=range(len(CORPUS)))
def test_refusal_allocates_little(payload: str) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(TemplateError, match=r"^prompt"):
            render_template(payload, VARS, where="prompt")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < PEAK_LIMIT, f"{payload[:60]!r} peaked at {peak / 2**20:.1f} MiB"
