"""The per-render budget every sandboxed operation is charged against.

One :class:`RenderLimits` says how big and how long a render may get; a :class:`_Budget`
in a context variable counts the work of the render in progress. The checks here size a
result from its inputs *before* it is built (a C-level ``'a' * 10**9`` cannot be
interrupted once started), and every refusal names the limit that refused it.
"""

from __future__ import annotations

import re
import string
import time
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from auterity_ai_step.contract.text_size import format_growth, text_shape
from auterity_ai_step.errors import TemplateError

__all__ = ["RenderLimits", "budget", "finished", "rendering"]


@dataclass(frozen=True)
class RenderLimits:
    """Bounds on one render; the defaults fit prompts, not documents.

    ``max_output_chars`` also bounds every intermediate string (a repetition, a join, a
    filter's result); ``max_items`` bounds every intermediate list and every size argument
    (``range``, repetition counts, widths, ``center``/``indent``/``tojson`` indents);
    ``max_produced_chars`` bounds all text built over the whole render.
    """

    max_output_chars: int = 64 * 1024
    max_source_chars: int = 256 * 1024
    max_items: int = 10_000  # range() length, list repetition, numeric size arguments
    max_work: int = 1_000_000  # loop iterations + calls + filters + operators + lookups
    max_produced_chars: int = 1024 * 1024  # all text built, in any buffer (macros, blocks)
    max_depth: int = 32  # nested macro / recursive-loop calls
    max_seconds: float = 1.0
    max_int_bits: int = 65_536  # integers built by '*' and '**'


@dataclass
class _Budget:
    limits: RenderLimits
    deadline: float
    work: int = 0
    produced: int = 0
    depth: int = 0
    _ticks: int = field(default=0, repr=False)

    def charge(self, units: int = 1) -> None:
        self.work += units
        if self.work > self.limits.max_work:
            raise TemplateError(
                f"template does too much work (more than {self.limits.max_work} steps, max_work)"
            )
        self._ticks += 1
        if self._ticks % 16 == 0 and time.monotonic() > self.deadline:
            raise TemplateError(
                f"template took longer than {self.limits.max_seconds} s (max_seconds)"
            )

    def check_size(self, value: Any, what: str) -> Any:
        if isinstance(value, str | bytes) and len(value) > self.limits.max_output_chars:
            raise TemplateError(
                f"{what} would build a string of {len(value)} characters "
                f"(limit max_output_chars={self.limits.max_output_chars})"
            )
        if isinstance(value, list | tuple | dict | set) and len(value) > self.limits.max_items:
            raise TemplateError(
                f"{what} would build a collection of {len(value)} items "
                f"(limit max_items={self.limits.max_items})"
            )
        return value

    def text_size(
        self, value: Any, what: str, *, limit: int | None = None, as_repr: bool = False
    ) -> int:
        """The length of ``str(value)`` before it is built (see :func:`text_size`).

        ``limit`` is the room left (default: ``max_output_chars``); the message names the
        render limit it comes from.
        """
        name = (
            "max_output_chars"
            if limit is None or limit <= self.limits.max_output_chars
            else ("max_produced_chars")
        )
        bound = self.limits.max_output_chars if limit is None else max(limit, 0)
        label = f"{name}={getattr(self.limits, name)}"
        size, nodes = text_shape(value, limit=bound, what=what, as_repr=as_repr, label=label)
        self.charge(nodes)
        return size


_BUDGET: ContextVar[_Budget] = ContextVar("auterity_template_budget")
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0 +\-]*(\*|\d+)?(?:\.(\*|\d+))?([a-zA-Z%])?")
_DIGITS = re.compile(r"\d+")


def budget() -> _Budget:
    """The budget of the render in progress."""
    try:
        return _BUDGET.get()
    except LookupError:
        raise AssertionError("template rendered outside render_template()") from None


def rendering(limits: RenderLimits) -> tuple[_Budget, Any]:
    """Start a budget for one render; returns it and the token to reset it with."""
    started = _Budget(limits, time.monotonic() + limits.max_seconds)
    return started, _BUDGET.set(started)


def finished(token: Any) -> None:
    _BUDGET.reset(token)


def too_big(size: int, what: str, limit: str) -> TemplateError:
    value = getattr(budget().limits, limit)
    return TemplateError(f"{what}: size {size} is over the limit ({limit}={value})")


def limit_chars(size: int, what: str) -> None:
    """Refuse a string of ``size`` characters before it is built."""
    limit = budget().limits.max_output_chars
    if size > limit:
        raise TemplateError(
            f"{what} would build a string of {size} characters (limit max_output_chars={limit})"
        )


def limit_items(size: int, what: str) -> None:
    if size > budget().limits.max_items:
        raise too_big(size, what, "max_items")


def check_numbers(args: Iterable[Any], what: str) -> None:
    limit = budget().limits.max_items
    for arg in args:
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > limit:
            raise too_big(arg, f"{what} argument", "max_items")


def format_spec_size(fmt: str, what: str) -> tuple[int, int]:
    """The text a ``str.format`` string adds beyond its arguments, and its field count.

    Refuses widths/precisions over ``max_items`` and nested fields before anything is built.
    """
    limit = budget().limits.max_items
    try:
        parts = list(string.Formatter().parse(fmt))
    except ValueError as exc:
        raise TemplateError(f"{what}: {exc}") from exc
    size = fields = 0
    for literal, name, spec, _ in parts:
        size += len(literal)
        if spec and "{" in spec:
            raise TemplateError(f"{what}: nested format fields are not allowed")
        for digits in _DIGITS.findall(spec or ""):
            if int(digits) > limit:
                raise too_big(int(digits), f"{what} width", "max_items")
            size += int(digits)
        if name is not None:
            fields += 1
    return size, fields


def percent_spec_size(fmt: str, what: str) -> tuple[int, int]:
    """Like :func:`format_spec_size` for ``%`` formatting; refuses ``*`` widths."""
    limit = budget().limits.max_items
    size, fields = len(fmt), 0
    for match in _PERCENT_SPEC.finditer(fmt):
        width, precision, _ = match.groups()
        for group in (width, precision):
            if group == "*":
                raise TemplateError(f"{what}: '*' widths are not allowed")
            if group and int(group) > limit:
                raise too_big(int(group), f"{what} width", "max_items")
            size += int(group) if group else 0
        fields += 1
    return size, fields


def check_formatting(spec: tuple[int, int], args: Any, what: str) -> None:
    """Refuse a formatting whose result could pass ``max_produced_chars``, before it runs.

    Each field may show all of ``args`` (``'{0}{0}{0}'``), so the bound is the format's
    own text plus fields times the text of the arguments.
    """
    fixed, fields = spec
    current = budget()
    room = current.limits.max_produced_chars
    size = current.text_size(args, what, limit=room, as_repr=True) if fields else 0
    size += max(map(format_growth, _top_level(args)), default=0)
    if fixed + fields * size > room:
        raise too_big(fixed + fields * size, f"{what} result", "max_produced_chars")


def _top_level(args: Any) -> list[Any]:
    """The values a formatting can show: ``(args, kwargs)``, a tuple, a mapping or one."""
    if isinstance(args, tuple) and len(args) == 2 and isinstance(args[1], dict):
        return [*args[0], *args[1].values()]
    if isinstance(args, tuple):
        return list(args)
    return list(args.values()) if isinstance(args, dict) else [args]
