"""Jinja2's filters, each sized before it builds anything.

Every filter is charged to the render budget and its result checked; the ones that can
build something much bigger than their input (``sum`` of lists, ``tojson`` with an indent,
``join``, ``format``, ``indent``, ``wordwrap``, ``replace``, the text filters) get a
version here that computes the size of the result from the inputs first, so a refusal
costs microseconds instead of the gigabytes the plain filter would allocate.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sized
from typing import Any

import jinja2
from jinja2.filters import make_attrgetter, sync_do_sum
from markupsafe import Markup

from auterity_ai_step.contract.template_budget import (
    budget,
    check_formatting,
    check_numbers,
    limit_chars,
    limit_items,
    percent_spec_size,
    too_big,
)
from auterity_ai_step.errors import TemplateError

__all__ = ["as_text", "bounded_filters", "checked_replace", "join_text"]

# Filters whose result is at least as long as the value's text, and how many times longer
# it can get (escape: '"' -> '&#34;'; urlencode: one 4-byte character -> 12; ...).
_GROWING = {
    "capitalize": 3,
    "center": 1,
    "e": 6,
    "escape": 6,
    "filesizeformat": 1,
    "forceescape": 6,
    "lower": 3,
    "pprint": 8,
    "safe": 1,
    "string": 1,
    "title": 3,
    "upper": 3,
    "urlencode": 12,
    "urlize": 10,
    "xmlattr": 6,
}
# Filters that read the value's text but return less of it.
_SHRINKING = frozenset({"striptags", "trim", "truncate", "wordcount"})
_CONSTANT_TIME = frozenset(
    {"abs", "attr", "count", "d", "default", "first", "float", "int", "last", "length", "random"}
)
_NUMBER_ARGS_UNCHECKED = frozenset({"format", "default", "d", "select", "reject", "map"})
_END = object()
_HTML_SAFE_JSON = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027"}


def as_text(value: Any, what: str, *, limit: int | None = None) -> str:
    """``str(value)``, refused before it is built when it would pass the limit."""
    if isinstance(value, str | jinja2.Undefined):
        return str(value)  # an Undefined raises its own clear error here
    budget().text_size(value, what, limit=limit)
    return str(value)


def checked_replace(text: str, old: str, new: str, count: int = -1) -> str:
    hits = text.count(old) if count < 0 else min(text.count(old), count)
    limit_chars(len(text) + hits * (len(new) - len(old)), "replace() result")
    return text.replace(old, new, count)


def join_text(items: list[Any], sep: str, what: str) -> str:
    """``sep.join(str(i) for i in items)``, sized before any item's text is built."""
    current = budget()
    limit_items(len(items), what)
    room = current.limits.max_output_chars
    size = len(sep) * max(len(items) - 1, 0)
    if size > room:
        limit_chars(size, f"{what} result")
    for item in items:
        if isinstance(item, str):
            size += len(item)
        else:
            size += current.text_size(item, f"{what} result", limit=room - size)
        if size > room:
            limit_chars(size, f"{what} result")
    return sep.join(str(i) for i in items)


def _value_text_size(name: str, value: Any, extra: Iterable[Any]) -> None:
    """Refuse a text filter whose input, or its possible growth, is over the limits."""
    current = budget()
    limits = current.limits
    what = f"filter '{name}'"
    if name in _SHRINKING:
        current.text_size(value, what, limit=limits.max_produced_chars)
        return
    size = len(value) if isinstance(value, str) else current.text_size(value, what)
    limit_chars(size, f"{what} value")
    growth = _GROWING[name] + sum(len(a) for a in extra if isinstance(a, str))
    if size * growth > limits.max_produced_chars:
        raise too_big(size * growth, f"{what} result", "max_produced_chars")


def _work(name: str, value: Any) -> int:
    """A filter's cost grows with its value: per item for collections (``sort`` calls a key
    per item), per 256 characters for text (C-speed scans); ``length`` and the like are 1."""
    if name in _CONSTANT_TIME:
        return 1
    if isinstance(value, str):
        return len(value) // 256 + 1
    return len(value) + 1 if isinstance(value, Sized) else 1


def guard(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` charged to the budget, its size arguments and value text checked first."""
    checks_numbers = name not in _NUMBER_ARGS_UNCHECKED
    reads_text = name in _GROWING or name in _SHRINKING
    # Arguments start after the value, which follows the context for pass_* filters.
    first_arg = 2 if hasattr(func, "jinja_pass_arg") else 1

    def guarded(*args: Any, **kwargs: Any) -> Any:
        current = budget()
        value = args[first_arg - 1] if len(args) >= first_arg else None
        current.charge(_work(name, value))
        extra = [*args[first_arg:], *kwargs.values()]
        if checks_numbers:
            check_numbers(extra, f"filter '{name}'")
        if reads_text and len(args) >= first_arg:
            _value_text_size(name, value, extra)
        return current.check_size(func(*args, **kwargs), f"filter '{name}'")

    guarded.__dict__.update(getattr(func, "__dict__", {}))  # keeps jinja_pass_arg
    return guarded


def _replace(value: Any, old: str, new: str, count: int | None = None) -> str:
    text = as_text(value, "filter 'replace'")
    return checked_replace(text, str(old), str(new), -1 if count is None else count)


def _join(value: Iterable[Any], d: str = "", attribute: str | int | None = None) -> str:
    if attribute is not None:
        raise TemplateError("filter 'join': the attribute argument is not supported")
    current = budget()
    items = []
    for item in value:
        current.charge()
        items.append(item)
        limit_items(len(items), "filter 'join'")
    return join_text(items, str(d), "filter 'join'")


def _format(value: str, *args: Any, **kwargs: Any) -> str:
    if args and kwargs:
        raise TemplateError("filter 'format': use positional or keyword arguments, not both")
    fmt = as_text(value, "filter 'format'")
    check_formatting(percent_spec_size(fmt, "filter 'format'"), kwargs or args, "filter 'format'")
    return fmt % (kwargs or args)


def _indent(s: Any, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    from jinja2.filters import do_indent

    if isinstance(s, str):
        indention = len(width) if isinstance(width, str) else int(width)
        lines = len(s.splitlines()) + 1
        limit_chars(len(s) + lines * max(indention, 0), "filter 'indent' result")
    return do_indent(s, width, first, blank)


@jinja2.pass_environment
def _wordwrap(
    environment: jinja2.Environment,
    s: Any,
    width: int = 79,
    break_long_words: bool = True,
    wrapstring: str | None = None,
    break_on_hyphens: bool = True,
) -> str:
    from jinja2.filters import do_wordwrap

    text = as_text(s, "filter 'wordwrap'")
    wrap = environment.newline_sequence if wrapstring is None else str(wrapstring)
    size = len(text) + (len(text) + 1) * len(wrap)  # at worst one line per character
    if size > budget().limits.max_produced_chars:
        raise too_big(size, "filter 'wordwrap' result", "max_produced_chars")
    return do_wordwrap(environment, text, width, break_long_words, wrap, break_on_hyphens)


@jinja2.pass_environment
def _sum(
    environment: jinja2.Environment,
    iterable: Iterable[Any],
    attribute: str | int | None = None,
    start: Any = 0,
) -> Any:
    """Jinja2's ``sum``, but a sum of lists is sized before it is built (and linear)."""
    current = budget()
    if attribute is not None:
        iterable = map(make_attrgetter(environment, attribute), iterable)
    items = []
    for item in iterable:
        current.charge()
        items.append(item)
    sequences = (list, tuple)
    if not any(isinstance(v, sequences) for v in (start, *items)):
        return sync_do_sum(environment, items, start=start)
    if isinstance(start, str):
        raise TypeError("sum() can't sum strings [use ''.join(seq) instead]")
    size = sum(len(v) for v in (start, *items) if isinstance(v, sequences))
    limit_items(size, "filter 'sum' result")
    current.charge(size // 64 + 1)
    kind = type(start)
    if kind in sequences and all(type(v) is kind for v in items):
        joined: list[Any] = list(start)
        for item in items:
            joined.extend(item)
        return joined if kind is list else tuple(joined)
    total = start
    for item in items:
        current.charge(len(total) // 64 + 1 if isinstance(total, sequences) else 1)
        total = total + item
    return total


@jinja2.pass_eval_context
def _tojson(
    eval_ctx: jinja2.nodes.EvalContext, value: Any, indent: int | str | None = None
) -> Markup:
    """Jinja2's ``tojson``, streamed and cut at ``max_output_chars``; the indent is sized."""
    current = budget()
    width = len(indent) if isinstance(indent, str) else int(indent or 0)
    if width:
        check_numbers([width], "filter 'tojson' indent")
        depth = _depth(value, current.limits.max_items)
        limit_chars(width * depth, "filter 'tojson' indent times nesting")
    kwargs = dict(eval_ctx.environment.policies["json.dumps_kwargs"])
    if indent is not None:
        kwargs["indent"] = indent
    chunks: list[str] = []
    size = 0
    for chunk in json.JSONEncoder(**kwargs).iterencode(value):
        size += len(chunk)
        current.charge()
        limit_chars(size, "filter 'tojson' result")
        chunks.append(chunk)
    text = "".join(chunks)
    limit_chars(size + 5 * sum(text.count(c) for c in _HTML_SAFE_JSON), "filter 'tojson' result")
    for char, escaped in _HTML_SAFE_JSON.items():
        text = text.replace(char, escaped)
    return Markup(text)  # noqa: S704 - as Jinja2's own: <, >, &, ' were escaped above


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of lists/dicts in ``value`` (what multiplies a JSON indent).

    Walks at most ``limit`` nodes, lazily, so a huge input costs no more than that.
    """
    deepest = 0
    seen = 0
    stack: list[Iterator[Any]] = [iter((value,))]
    while stack and seen < limit:
        item = next(stack[-1], _END)
        if item is _END:
            stack.pop()
            continue
        seen += 1
        if isinstance(item, dict | list | tuple):
            deepest = max(deepest, len(stack))
            stack.append(iter(item.values() if isinstance(item, dict) else item))
    return deepest


def bounded_filters(defaults: dict[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """Jinja2's default filters with the bounded versions swapped in, all guarded."""
    filters = dict(defaults)
    filters.update(
        {
            "format": _format,
            "indent": _indent,
            "join": _join,
            "replace": _replace,
            "sum": _sum,
            "tojson": _tojson,
            "wordwrap": _wordwrap,
        }
    )
    return {name: guard(name, f) for name, f in filters.items()}
