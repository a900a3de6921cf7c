"""The Jinja2 sandbox behind :func:`render_template` (with its guards and filters, the only
Jinja2 users).

Prompts are written by workflow authors and filled with data from earlier steps, so a
template is untrusted code. Jinja2 runs in an immutable sandbox with ``StrictUndefined``
and a per-render :class:`RenderLimits` budget (:mod:`.template_budget`, charged by
:mod:`.template_guards`): every loop
iteration, call, filter, operator and emitted chunk is charged, and every value is sized
from its inputs *before* it is built (repetition, ``+``, ``~``, ``%``, ``str.format``,
``str.join``, the value shown by ``{{ }}``; the filters in :mod:`.template_filters`), because
one C-level operation such as ``str([big] * 10000)`` cannot be stopped once it starts. A
function or method is never shown. The output is streamed and cut at ``max_output_chars``.
Whatever goes wrong surfaces as a :class:`TemplateError` naming the problem and the limit
(and the template line when known).

Public names are re-exported by :mod:`auterity_ai_step.contract.templates`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.lexer import TokenStream
from jinja2.parser import Parser
from jinja2.sandbox import ImmutableSandboxedEnvironment

from auterity_ai_step.contract import template_guards as guards
from auterity_ai_step.contract.template_budget import (
    RenderLimits,
    budget,
    check_formatting,
    check_numbers,
    finished,
    format_spec_size,
    limit_items,
    percent_spec_size,
    rendering,
)
from auterity_ai_step.contract.template_filters import (
    bounded_filters,
    checked_replace,
    join_text,
)
from auterity_ai_step.errors import TemplateError

if TYPE_CHECKING:
    from jinja2.runtime import Context

__all__ = [
    "RenderLimits",
    "is_plain_substitution",
    "render_template",
    "renders_in_place",
    "syntax_problem",
]

# String methods a prompt may call; everything else (translate, expandtabs, ...) is refused.
_STR_METHOD_NAMES = (
    "capitalize casefold center count endswith find format index isalnum isalpha isdigit "
    "islower isspace istitle isupper join ljust lower lstrip partition removeprefix "
    "removesuffix replace rfind rindex rjust rpartition rsplit rstrip split splitlines "
    "startswith strip swapcase title upper zfill"
)
_STR_METHODS = frozenset(_STR_METHOD_NAMES.split())
_STR_SIZE_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})  # their int is a width
_REMOVED_GLOBALS = ("cycler", "joiner", "lipsum", "namespace")


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    loop_guard = staticmethod(guards.loop_guard)
    output_guard = staticmethod(guards.output_guard)
    concat_guard = staticmethod(guards.concat_guard)

    def __init__(self) -> None:
        super().__init__(
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            cache_size=0,
            loader=jinja2.FunctionLoader(guards.no_loading),
        )
        for name in _REMOVED_GLOBALS:
            self.globals.pop(name, None)
        self.globals["range"] = guards.safe_range
        self.filters = bounded_filters(self.filters)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        guarded = guards.GuardCalls().visit(tree)
        assert isinstance(guarded, nodes.Template)
        return guarded

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str) and callable(value) and attr not in _STR_METHODS:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def getattr(self, obj: Any, attribute: str) -> Any:
        budget().charge()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        budget().charge()
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        sandboxed = super().wrap_str_format(value)
        if sandboxed is None:
            return None
        fmt = str(value.__self__)

        def checked(*args: Any, **kwargs: Any) -> str:
            check_formatting(format_spec_size(fmt, "str.format"), (args, kwargs), "str.format")
            return str(budget().check_size(sandboxed(*args, **kwargs), "str.format"))

        return checked

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        current = budget()
        current.charge()
        if operator == "*":
            guards.repetition_size(left, right)
            guards.int_bits(operator, left, right)
        elif operator == "**":
            guards.int_bits(operator, left, right)
        elif operator == "+":
            guards.sum_size(left, right)
        elif operator == "%" and isinstance(left, str):
            check_formatting(percent_spec_size(left, "'%' formatting"), right, "'%' formatting")
        return current.check_size(super().call_binop(context, operator, left, right), operator)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        if (
            __obj is guards.output_guard
            or __obj is guards.concat_guard
            or __obj is guards.loop_guard
        ):
            # Our own guards (only ``GuardCalls`` can place them): they charge and size for
            # themselves, and the sandbox's checks of a callable would only cost time. Their
            # arguments are positional; Jinja2's keywords (``_loop_vars``...) are its own.
            return __obj(*args)
        current = budget()
        current.charge()
        if isinstance(getattr(__obj, "__self__", None), str):
            if __obj.__name__ in _STR_SIZE_METHODS:
                check_numbers([*args, *kwargs.values()], f"str.{__obj.__name__}")
            if __obj.__name__ == "replace" and len(args) >= 2:
                __obj = checked_replace.__get__(__obj.__self__)
            elif __obj.__name__ == "join" and args:
                items = []
                for item in args[0]:
                    current.charge()
                    items.append(item)
                    limit_items(len(items), "str.join")
                return join_text(items, __obj.__self__, "str.join")
        if current.depth >= current.limits.max_depth:
            raise TemplateError(
                f"template recursion is deeper than {current.limits.max_depth} (max_depth)"
            )
        current.depth += 1
        try:
            result = super().call(__context, __obj, *args, **kwargs)
        finally:
            current.depth -= 1
        return current.check_size(result, "call")


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


# What a template may hold and still count as plain substitution: text and shown variables.
_PLAIN_NODES = (
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Getattr,
    nodes.Getitem,
    nodes.Const,
)


@lru_cache(maxsize=512)
def is_plain_substitution(source: str) -> bool:
    """True when ``source`` only shows variables between text (``{{ name }}``,
    ``{{ a.b }}``, ``{{ a["b"] }}``): no loop, filter, call, test, operator or statement.

    Such a render does a bounded amount of work, linear in its output, which
    ``max_output_chars`` caps, so the engine may run it on its event loop. Anything else may
    spend the whole render budget (up to ``max_seconds`` of CPU) and runs in a thread."""
    if len(source) > RenderLimits.max_source_chars:
        return False
    try:
        tree = Parser(_ENV, source).parse()  # the template as written, before the guards
    except jinja2.TemplateSyntaxError:
        return False
    return all(isinstance(node, _PLAIN_NODES) for node in tree.find_all(nodes.Node))


# Plain-substitution templates already compiled, by source: rendering one of these does no
# parsing or compiling (milliseconds for a first use), only the bounded render itself.
_IN_PLACE: dict[str, jinja2.Template] = {}
_IN_PLACE_KEPT = 512


def renders_in_place(source: str) -> bool:
    """True when ``source`` is plain substitution and already compiled (it has rendered
    once): its render is bounded and short enough for the event loop. A template's first
    render (parse, check, compile) happens wherever the caller sends it, in a thread."""
    return source in _IN_PLACE


def _template(source: str) -> jinja2.Template:
    template = _IN_PLACE.get(source)
    if template is not None:
        return template
    template = _compile(source)
    if is_plain_substitution(source):
        if len(_IN_PLACE) >= _IN_PLACE_KEPT:
            _IN_PLACE.clear()
        _IN_PLACE[source] = template
    return template


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
        raise TemplateError(
            f"{where}: source is longer than {limits.max_source_chars} chars (max_source_chars)"
        )
    _, token = rendering(limits)
    try:
        template = _template(source)
        out: list[str] = []
        size = 0
        for chunk in template.generate(dict(variables)):
            size += len(chunk)
            if size > limits.max_output_chars:
                raise TemplateError(
                    f"output is longer than {limits.max_output_chars} characters (max_output_chars)"
                )
            out.append(chunk)
        return "".join(out)
    except Exception as exc:
        raise _translate(exc, where) from exc
    finally:
        finished(token)


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
