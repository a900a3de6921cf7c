"""How long a value's text would be, found before the text is built.

``str([big] * 10000)`` allocates gigabytes in one C call that no budget can interrupt, so
every place a template turns a value into text first asks :func:`text_size`. It walks
lists, tuples, sets and dicts the way ``repr`` would, stops as soon as the total passes the
limit (so the walk itself is bounded by the limit), follows cycles as ``repr`` does, and
refuses what must never reach a prompt: functions and methods (a forgotten ``()`` would put
``<built-in method upper of str object at 0x...>`` into the prompt) and integers too long
for ``str``. Used by the Jinja2 sandbox and the legacy ``str.format`` path alike.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from decimal import Decimal
from itertools import chain
from typing import Any

from auterity_ai_step.errors import TemplateError

__all__ = ["format_growth", "text_shape", "text_size"]

_CONTAINERS: tuple[type, ...] = (list, tuple, set, frozenset, dict)
_EXIT = object()


def _refuse_callable(value: Any, what: str) -> TemplateError:
    name = getattr(value, "__name__", type(value).__name__)
    return TemplateError(
        f"{what}: {name!r} is a function or method and cannot be shown "
        "(call it with parentheses, e.g. name.upper())"
    )


def _int_size(value: int, what: str) -> int:
    try:
        return len(repr(value))
    except ValueError:
        digits = sys.get_int_max_str_digits()
        raise TemplateError(
            f"{what}: an integer with more than {digits} digits cannot be shown"
        ) from None


def _leaf_size(value: Any, as_repr: bool, limit: int, what: str) -> int:
    if isinstance(value, str):
        if len(value) > limit or not as_repr:
            return len(value)  # already over the limit: no need to build its repr
        return len(repr(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return _int_size(value, what)
    if callable(value):
        raise _refuse_callable(value, what)
    return len(repr(value) if as_repr else str(value))


def _walkable(value: Any) -> bool:
    """Containers whose text is the builtin ``repr`` (subclasses with their own are leaves)."""
    kind = type(value)
    return any(isinstance(value, c) and kind.__repr__ is c.__repr__ for c in _CONTAINERS)


def _container_overhead(item: Any) -> int:
    """Brackets and separators of one container's repr."""
    n = len(item)
    separators = 2 * max(n - 1, 0)
    if isinstance(item, dict):
        return 2 + 2 * n + separators
    if isinstance(item, frozenset):
        return 13 + separators if n else 11
    if isinstance(item, set):
        return 2 + separators if n else 5
    return 2 + separators + (1 if isinstance(item, tuple) and n == 1 else 0)


def text_size(value: Any, *, limit: int, what: str, as_repr: bool = False, label: str = "") -> int:
    """``len(str(value))`` (or ``repr``), computed without building it; see :func:`text_shape`."""
    return text_shape(value, limit=limit, what=what, as_repr=as_repr, label=label)[0]


def text_shape(
    value: Any, *, limit: int, what: str, as_repr: bool = False, label: str = ""
) -> tuple[int, int]:
    """The length of ``str(value)`` (``repr`` with ``as_repr``) and the nodes walked.

    Raises :class:`TemplateError` naming ``what`` as soon as the size passes ``limit``, and
    for callables and integers over Python's digit limit anywhere inside ``value``
    (``label`` names the limit in the message). Each
    node adds at least one character, so the walk visits at most ``limit`` nodes.
    """
    on_path: set[int] = set()
    stack: list[tuple[int, Iterator[Any]]] = []

    def visit(item: Any, in_repr: bool) -> int:
        if not _walkable(item):
            return _leaf_size(item, in_repr, limit, what)
        if id(item) in on_path:
            return 5  # repr's "[...]" / "{...}" for a cycle
        on_path.add(id(item))
        children = chain.from_iterable(item.items()) if isinstance(item, dict) else item
        stack.append((id(item), iter(children)))
        return _container_overhead(item)

    total = visit(value, as_repr)
    nodes = 1
    while total <= limit and stack:
        nodes += 1
        ident, children = stack[-1]
        child = next(children, _EXIT)
        if child is _EXIT:
            stack.pop()
            on_path.discard(ident)
        else:
            total += visit(child, True)
    if total > limit:
        named = label or f"{limit} characters"
        raise TemplateError(f"{what} would build more text than the limit allows ({named})")
    return total, nodes


def format_growth(value: Any) -> int:
    """How much longer than ``str(value)`` a format spec can make a number, at most.

    ``format(1e308, 'f')`` is 309 digits where ``str`` gives 6; ``format(Decimal('1E+9'),
    'f')`` is a billion; ``format(n, ',')`` adds a separator per three digits.
    """
    if isinstance(value, bool):
        return 0
    if isinstance(value, float):
        return 320
    if isinstance(value, int):
        return value.bit_length() // 9 + 2
    if isinstance(value, Decimal) and value.is_finite():
        return abs(value.adjusted()) * 4 // 3 + 2
    return 0
