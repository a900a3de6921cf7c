"""The Jinja2 sandbox behind :func:`render_template` (the only module importing Jinja2).

Prompts are written by workflow authors and filled with data from earlier steps, so a
template is untrusted code. Jinja2 runs in an immutable sandbox with ``StrictUndefined``
and a per-render :class:`RenderLimits` budget: every loop iteration, call, filter, operator
and emitted chunk is charged, sizes are checked before anything large is allocated, and
the output is streamed and cut at ``max_output_chars``. Whatever goes wrong surfaces as a
:class:`TemplateError` naming the problem (and the template line when known).

Public names are re-exported by :mod:`auterity_ai_step.contract.templates`.
"""

from __future__ import annotations

import re
import string
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.lexer import TokenStream
from jinja2.parser import Parser
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from auterity_ai_step.errors import TemplateError

if TYPE_CHECKING:
    from jinja2.runtime import Context

__all__ = ["RenderLimits", "render_template", "syntax_problem"]


@dataclass(frozen=True)
class RenderLimits:
    """Bounds on one render; the defaults fit prompts, not documents."""

    max_output_chars: int = 64 * 1024
    max_source_chars: int = 256 * 1024
    max_items: int = 10_000  # range() length, list repetition, numeric size arguments
    max_work: int = 1_000_000  # loop iterations + calls + filters + operators + lookups
    max_produced_chars: int = 1024 * 1024  # all text built, in any buffer (macros, blocks)
    max_depth: int = 32  # nested macro / recursive-loop calls
    max_seconds: float = 5.0


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
                f"template does too much work (more than {self.limits.max_work} steps)"
            )
        self._ticks += 1
        if self._ticks % 256 == 0 and time.monotonic() > self.deadline:
            raise TemplateError(f"template took longer than {self.limits.max_seconds} s")

    def check_size(self, value: Any, what: str) -> Any:
        if isinstance(value, str | bytes) and len(value) > self.limits.max_output_chars:
            raise TemplateError(
                f"{what} would build a string of {len(value)} characters "
                f"(limit {self.limits.max_output_chars})"
            )
        if isinstance(value, list | tuple | dict | set) and len(value) > self.limits.max_items:
            raise TemplateError(
                f"{what} would build a collection of {len(value)} items "
                f"(limit {self.limits.max_items})"
            )
        return value


_BUDGET: ContextVar[_Budget] = ContextVar("auterity_template_budget")
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0 +\-]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGITS = re.compile(r"\d+")
# String methods a prompt may call; everything else (translate, expandtabs, ...) is refused.
_STR_METHOD_NAMES = (
    "capitalize casefold center count endswith find format index isalnum isalpha isdigit "
    "islower isspace istitle isupper join ljust lower lstrip partition removeprefix "
    "removesuffix replace rfind rindex rjust rpartition rsplit rstrip split splitlines "
    "startswith strip swapcase title upper zfill"
)
_STR_METHODS = frozenset(_STR_METHOD_NAMES.split())
_REMOVED_GLOBALS = ("cycler", "joiner", "lipsum", "namespace")


def _budget() -> _Budget:
    try:
        return _BUDGET.get()
    except LookupError:
        raise AssertionError("template rendered outside render_template()") from None


def _too_big(size: int, what: str) -> TemplateError:
    return TemplateError(f"{what}: size {size} is over the limit")


def _limit_chars(size: int, what: str) -> None:
    if size > _budget().limits.max_output_chars:
        raise _too_big(size, what)


def _check_numbers(args: Iterable[Any], what: str) -> None:
    limit = _budget().limits.max_items
    for arg in args:
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > limit:
            raise _too_big(arg, f"{what} argument")


def _check_format_spec(fmt: str, what: str) -> None:
    """Refuse width/precision tricks (``{:>999999999}``, ``%999999999d``) before they allocate."""
    limit = _budget().limits.max_items
    try:
        parts = list(string.Formatter().parse(fmt))
    except ValueError as exc:
        raise TemplateError(f"{what}: {exc}") from exc
    for _, _, spec, _ in parts:
        if spec and "{" in spec:
            raise TemplateError(f"{what}: nested format fields are not allowed")
        for digits in _DIGITS.findall(spec or ""):
            if int(digits) > limit:
                raise _too_big(int(digits), f"{what} width")


def _check_percent(fmt: str, what: str) -> None:
    limit = _budget().limits.max_items
    for match in _PERCENT_SPEC.finditer(fmt):
        for group in match.groups():
            if group == "*":
                raise TemplateError(f"{what}: '*' widths are not allowed")
            if group and int(group) > limit:
                raise _too_big(int(group), f"{what} width")


def _loop_guard(iterable: Any) -> Iterator[Any]:
    budget = _budget()
    for item in iterable:
        budget.charge()
        yield item


def _output_guard(value: Any) -> str:
    budget = _budget()
    text = str(value)
    budget.produced += len(text)
    budget.charge()
    if budget.produced > budget.limits.max_produced_chars:
        raise TemplateError(
            f"template builds more than {budget.limits.max_produced_chars} characters of text"
        )
    return text


def _concat_guard(*parts: Any) -> str:
    texts = [str(p) for p in parts]
    budget = _budget()
    budget.charge()
    return str(budget.check_size("".join(texts), "'~' concatenation"))


def _safe_range(*args: int) -> range:
    budget = _budget()
    result = range(*args)
    if len(result) > budget.limits.max_items:
        raise _too_big(len(result), "range()")
    budget.charge(len(result) // 64 + 1)
    return result


def _join_size(items: list[Any], sep: str) -> int:
    return sum(len(str(i)) for i in items) + len(sep) * max(len(items) - 1, 0)


def _checked_replace(text: str, old: str, new: str, count: int = -1) -> str:
    hits = text.count(old) if count < 0 else min(text.count(old), count)
    _limit_chars(len(text) + hits * (len(new) - len(old)), "replace() result")
    return text.replace(old, new, count)


def _no_loading(name: str) -> str:
    raise TemplateError(f"prompts cannot include, import or extend other templates ({name!r})")


class _Guard(NodeTransformer):
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


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    loop_guard = staticmethod(_loop_guard)
    output_guard = staticmethod(_output_guard)
    concat_guard = staticmethod(_concat_guard)

    def __init__(self) -> None:
        super().__init__(
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            cache_size=0,
            loader=jinja2.FunctionLoader(_no_loading),
        )
        for name in _REMOVED_GLOBALS:
            self.globals.pop(name, None)
        self.globals["range"] = _safe_range
        self.filters = {name: self._guard_filter(name, f) for name, f in self.filters.items()}
        self.filters["replace"] = self._replace
        self.filters["join"] = self._join
        self.filters["format"] = self._format

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        guarded = _Guard().visit(tree)
        assert isinstance(guarded, nodes.Template)
        return guarded

    def _guard_filter(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        checks_numbers = name not in {"format", "default", "d", "select", "reject", "map"}
        # Arguments start after the value, which follows the context for pass_* filters.
        first_arg = 2 if hasattr(func, "jinja_pass_arg") else 1

        def guarded(*args: Any, **kwargs: Any) -> Any:
            budget = _budget()
            budget.charge()
            if checks_numbers:
                _check_numbers([*args[first_arg:], *kwargs.values()], f"filter '{name}'")
                if name == "indent":
                    value, width = str(args[0]), args[1] if len(args) > 1 else 4
                    lines = value.count("\n") + 1
                    _limit_chars(len(value) + lines * len(str(width)), "filter 'indent' result")
            return budget.check_size(func(*args, **kwargs), f"filter '{name}'")

        guarded.__dict__.update(getattr(func, "__dict__", {}))  # keeps jinja_pass_arg
        return guarded

    @staticmethod
    def _replace(value: Any, old: str, new: str, count: int | None = None) -> str:
        _budget().charge()
        return _checked_replace(str(value), str(old), str(new), -1 if count is None else count)

    @staticmethod
    def _join(value: Iterable[Any], d: str = "", attribute: str | int | None = None) -> str:
        budget = _budget()
        budget.charge()
        items = list(value)
        budget.check_size(items, "filter 'join'")
        if attribute is not None:
            raise TemplateError("filter 'join': the attribute argument is not supported")
        _limit_chars(_join_size(items, d), "filter 'join' result")
        return d.join(str(i) for i in items)

    @staticmethod
    def _format(value: str, *args: Any, **kwargs: Any) -> str:
        budget = _budget()
        budget.charge()
        if args and kwargs:
            raise TemplateError("filter 'format': use positional or keyword arguments, not both")
        _check_percent(str(value), "filter 'format'")
        return str(budget.check_size(str(value) % (kwargs or args), "filter 'format'"))

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str) and callable(value) and attr not in _STR_METHODS:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _budget().charge()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _budget().charge()
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        sandboxed = super().wrap_str_format(value)
        if sandboxed is None:
            return None
        fmt = str(value.__self__)

        def checked(*args: Any, **kwargs: Any) -> str:
            _check_format_spec(fmt, "str.format")
            return str(_budget().check_size(sandboxed(*args, **kwargs), "str.format"))

        return checked

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget = _budget()
        budget.charge()
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, str | bytes | list | tuple) and isinstance(n, int):
                    size = len(seq) * n
                    limit = budget.limits.max_output_chars
                    if isinstance(seq, list | tuple):
                        limit = budget.limits.max_items
                    if size > limit:
                        raise _too_big(size, "'*' repetition")
        elif operator == "**" and isinstance(left, int | float) and isinstance(right, int | float):
            bits = int(abs(left)).bit_length() * abs(right)
            if abs(right) > 1024 or bits > 65536:
                raise _too_big(int(right), "'**' exponent")
        elif operator == "%" and isinstance(left, str):
            _check_percent(left, "'%' formatting")
        return budget.check_size(super().call_binop(context, operator, left, right), operator)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.charge()
        if isinstance(getattr(__obj, "__self__", None), str):
            _check_numbers([*args, *kwargs.values()], f"str.{__obj.__name__}")
            if __obj.__name__ == "replace" and len(args) >= 2:
                __obj = _checked_replace.__get__(__obj.__self__)
            elif __obj.__name__ == "join" and args:
                items = list(args[0])
                budget.check_size(items, "str.join")
                _limit_chars(_join_size(items, __obj.__self__), "str.join result")
                args = (items, *args[1:])
        if budget.depth >= budget.limits.max_depth:
            raise TemplateError(f"template recursion is deeper than {budget.limits.max_depth}")
        budget.depth += 1
        try:
            result = super().call(__context, __obj, *args, **kwargs)
        finally:
            budget.depth -= 1
        return budget.check_size(result, "call")


_ENV = _Sandbox()


@lru_cache(maxsize=512)
def _compile(source: str) -> jinja2.Template:
    return _ENV.from_string(source)


def _template_line(exc: BaseException) -> int | None:
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _translate(exc: Exception, where: str) -> TemplateError:
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return TemplateError(f"{where}: syntax error on line {exc.lineno}: {exc.message}")
    line = _template_line(exc)
    at = f"{where} (line {line})" if line else where
    if isinstance(exc, TemplateError):
        return TemplateError(f"{at}: {exc}")
    if isinstance(exc, SecurityError):
        return TemplateError(f"{at}: unsafe template refused: {exc}")
    if isinstance(exc, jinja2.UndefinedError):
        return TemplateError(f"{at}: undefined variable: {exc}")
    if isinstance(exc, RecursionError):
        return TemplateError(f"{at}: template nests too deeply")
    return TemplateError(f"{at}: {type(exc).__name__}: {exc}")


def render_template(
    source: str,
    variables: Mapping[str, Any],
    *,
    limits: RenderLimits | None = None,
    where: str = "template",
) -> str:
    """Render untrusted Jinja2 ``source`` over ``variables`` within ``limits``."""
    limits = limits or RenderLimits()
    if len(source) > limits.max_source_chars:
        raise TemplateError(f"{where}: source is longer than {limits.max_source_chars} chars")
    budget = _Budget(limits, time.monotonic() + limits.max_seconds)
    token = _BUDGET.set(budget)
    try:
        template = _compile(source)
        out: list[str] = []
        size = 0
        for chunk in template.generate(dict(variables)):
            size += len(chunk)
            if size > limits.max_output_chars:
                raise TemplateError(f"output is longer than {limits.max_output_chars} characters")
            out.append(chunk)
        return "".join(out)
    except Exception as exc:
        raise _translate(exc, where) from exc
    finally:
        _BUDGET.reset(token)


def syntax_problem(source: str) -> tuple[int, int | None, str] | None:
    """``(line, column, message)`` of the first syntax error in ``source``, else None.

    What ``validate`` reports without rendering: the template is parsed over a token
    stream that counts offsets (Jinja2 reports lines only), then compiled by the same
    environment that renders it, so an unknown filter is caught too (its column is None).
    """
    start = end = 0
    lexer_failed = False

    def tokens() -> Iterator[tuple[int, str, str]]:
        nonlocal start, end, lexer_failed
        try:
            for lineno, kind, value in _ENV.lexer.tokeniter(source, None):
                start, end = end, end + len(value)
                yield lineno, kind, value
        except jinja2.TemplateSyntaxError:
            lexer_failed = True  # it stopped after the last token it read
            raise
        start = end = len(source)

    try:
        parser = Parser(_ENV, "")
        parser.stream = TokenStream(_ENV.lexer.wrap(tokens()), None, None)
        parser.parse()
        _compile(source)
    except jinja2.TemplateAssertionError as exc:
        return exc.lineno, None, exc.message or str(exc)
    except jinja2.TemplateSyntaxError as exc:
        offset = end if lexer_failed else start
        line_start = source.rfind("\n", 0, offset) + 1
        return source.count("\n", 0, offset) + 1, offset - line_start + 1, exc.message or ""
    return None
