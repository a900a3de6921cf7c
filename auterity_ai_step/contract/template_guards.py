"""The guards a sandboxed template runs through: every loop, output, concatenation and
operator is charged to the render's budget and sized before its value is built.

:class:`GuardCalls` rewrites a parsed template so that loops, output and ``~`` call
:func:`loop_guard`, :func:`output_guard` and :func:`concat_guard`; the sandbox
(:mod:`.template_sandbox`) checks operators with :func:`repetition_size`, :func:`int_bits`
and :func:`sum_size`, and offers :func:`safe_range` as ``range``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.visitor import NodeTransformer

from auterity_ai_step.contract.template_budget import budget, limit_chars, limit_items, too_big
from auterity_ai_step.contract.template_filters import as_text
from auterity_ai_step.errors import TemplateError

__all__ = [
    "GuardCalls",
    "concat_guard",
    "int_bits",
    "loop_guard",
    "no_loading",
    "output_guard",
    "repetition_size",
    "safe_range",
    "sum_size",
]

_SEQUENCES = (str, bytes, list, tuple)


def loop_guard(iterable: Any) -> Iterator[Any]:
    current = budget()
    for item in iterable:
        current.charge()
        yield item


def output_guard(value: Any) -> str:
    current = budget()
    text = as_text(value, "output")
    current.produced += len(text)
    current.charge()
    if current.produced > current.limits.max_produced_chars:
        raise TemplateError(
            f"template builds more than {current.limits.max_produced_chars} characters of "
            "text (max_produced_chars)"
        )
    return text


def concat_guard(*parts: Any) -> str:
    current = budget()
    current.charge()
    room = current.limits.max_output_chars
    size = 0
    for part in parts:
        size += text_size(part, "'~' concatenation", room - size)
    if size > room:
        limit_chars(size, "'~' concatenation")
    return "".join(str(p) for p in parts)


def text_size(value: Any, what: str, room: int) -> int:
    """Length of ``str(value)``, found without building it when it is not text."""
    if isinstance(value, str | jinja2.Undefined):
        return len(str(value))
    return budget().text_size(value, what, limit=room)


def safe_range(*args: int) -> range:
    result = range(*args)
    limit_items(len(result), "range()")
    budget().charge(len(result) // 16 + 1)
    return result


def repetition_size(left: Any, right: Any) -> None:
    for seq, n in ((left, right), (right, left)):
        if isinstance(seq, _SEQUENCES) and isinstance(n, int):
            if isinstance(seq, str | bytes):
                limit_chars(len(seq) * n, "'*' repetition")
            else:
                limit_items(len(seq) * n, "'*' repetition")


def int_bits(operator: str, left: Any, right: Any) -> None:
    """Integers built by ``*`` and ``**`` stay under ``max_int_bits`` (checked first)."""
    if not all(isinstance(v, int | float) for v in (left, right)):
        return
    limit = budget().limits.max_int_bits
    if operator == "**":
        bits = int(abs(left)).bit_length() * abs(right)
        if isinstance(left, int) and bits > limit:
            raise too_big(int(bits), "'**' exponent (bits of the result)", "max_int_bits")
    elif isinstance(left, int) and isinstance(right, int):
        bits = left.bit_length() + right.bit_length()
        if bits > limit:
            raise too_big(bits, "'*' product (bits)", "max_int_bits")


def sum_size(left: Any, right: Any) -> None:
    if isinstance(left, str) and isinstance(right, str):
        limit_chars(len(left) + len(right), "'+' concatenation")
    elif isinstance(left, list | tuple) and isinstance(right, list | tuple):
        limit_items(len(left) + len(right), "'+' concatenation")


def no_loading(name: str) -> str:
    raise TemplateError(f"prompts cannot include, import or extend other templates ({name!r})")


class GuardCalls(NodeTransformer):
    """Rewrite the parsed template so loops, output and ``~`` go through the budget."""

    @staticmethod
    def _call(name: str, args: list[Any], lineno: int) -> nodes.Call:
        return nodes.Call(nodes.EnvironmentAttribute(name), args, [], None, None, lineno=lineno)

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = self._call("loop_guard", [node.iter], node.lineno)
        return node

    def visit_Output(self, node: nodes.Output) -> nodes.Node:
        self.generic_visit(node)
        node.nodes = [self._call("output_guard", [n], n.lineno) for n in node.nodes]
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return self._call("concat_guard", list(node.nodes), node.lineno)
