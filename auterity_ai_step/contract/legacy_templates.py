"""Today's Auterity prompt templates, kept byte for byte: ``PromptTemplate``,
``DEFAULT_TEMPLATES`` and ``str.format`` rendering for legacy nodes.

``str.format`` on author text with step data could walk ``{x.__class__.__init__}``; the
formatter here keeps ``str.format`` output for every ordinary placeholder and refuses
walks into private attributes and giant widths. Import these from
:mod:`auterity_ai_step.contract.templates`.
"""

from __future__ import annotations

import json
import re
import string
import sys
from collections.abc import Mapping
from typing import Any

from auterity_ai_step.contract.text_size import format_growth, text_size
from auterity_ai_step.errors import LegacyTemplateError, TemplateError

__all__ = [
    "DEFAULT_SYSTEM_PROMPT",
    "DEFAULT_TEMPLATES",
    "MAX_LEGACY_CHARS",
    "PromptTemplate",
    "legacy_context",
    "legacy_format",
    "legacy_syntax_problem",
]

DEFAULT_SYSTEM_PROMPT = "You are a helpful AI assistant for automotive dealership workflows."
MAX_LEGACY_CHARS = 1_000_000  # a legacy prompt, or its context message, once filled in
_MAX_WIDTH = 10_000
_PRIVATE_WALK = re.compile(r"[.\[]\s*_")
_DIGITS = re.compile(r"\d+")


class _LegacyFormatter(string.Formatter):
    """``str.format`` semantics, sized before each field is built.

    Refuses walks into private attributes, widths over ``_MAX_WIDTH``, callables (a
    forgotten ``()`` would show a method's repr) and output over ``max_chars``. One
    formatter per call: it counts the characters that call has built so far.
    """

    def __init__(self, max_chars: int) -> None:
        self.room = max_chars
        self.max_chars = max_chars

    def get_field(self, field_name: str, args: Any, kwargs: Mapping[str, Any]) -> tuple[Any, str]:
        if _PRIVATE_WALK.search(field_name):
            raise TemplateError(f"unsafe placeholder {{{field_name}}} refused")
        found: tuple[Any, str] = super().get_field(field_name, args, kwargs)
        return found

    def _spend(self, value: Any, extra: int, *, as_repr: bool = False, growth: int = 1) -> None:
        """Refuse a field whose text (times ``growth``, plus ``extra``) would not fit."""
        label = f"legacy limit of {self.max_chars} characters"
        room = max(self.room, 0)
        size = text_size(
            value, limit=room // growth, what="placeholder", as_repr=as_repr, label=label
        )
        if size * growth + extra > room:
            raise TemplateError(f"placeholder would build more text than the {label} allows")

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion is not None:  # ascii() can turn one character into ten
            as_repr = conversion in ("r", "a")
            self._spend(value, 0, as_repr=as_repr, growth=10 if conversion == "a" else 1)
        return super().convert_field(value, conversion)

    def format_field(self, value: Any, format_spec: str) -> Any:
        extra = 0
        for digits in _DIGITS.findall(format_spec):
            if int(digits) > _MAX_WIDTH:
                raise TemplateError(f"format spec {format_spec!r}: width over {_MAX_WIDTH}")
            extra += int(digits)
        extra += format_growth(value)
        self._spend(value, extra)
        text = super().format_field(value, format_spec)
        self.room -= len(text)
        return text

    def vformat(self, format_string: str, args: Any, kwargs: Mapping[str, Any]) -> str:
        text = super().vformat(format_string, args, kwargs)
        if len(text) > self.max_chars:
            raise TemplateError(
                f"the filled-in prompt is longer than the legacy limit of {self.max_chars} "
                "characters"
            )
        return text


def _failure(exc: Exception) -> str:
    detail = f"{type(exc).__name__}: {exc}"
    return detail if len(detail) <= 200 else detail[:200] + "..."


def legacy_format(
    text: str,
    variables: Mapping[str, Any],
    *,
    where: str = "prompt",
    max_chars: int = MAX_LEGACY_CHARS,
) -> str:
    """Today's ``text.format(**variables)``; errors become :class:`TemplateError`."""
    try:
        return _LegacyFormatter(max_chars).vformat(text, (), variables)
    except TemplateError as exc:
        raise TemplateError(f"{where}: {exc}") from exc
    except KeyError as exc:
        known = sorted(str(k) for k in variables)
        raise TemplateError(
            f"{where}: placeholder {{{exc.args[0]}}} has no value (variables: {known})"
        ) from exc
    except (IndexError, ValueError, AttributeError, TypeError) as exc:
        raise TemplateError(f"{where}: formatting error: {exc}") from exc
    except Exception as exc:  # a value's own __str__/__format__ failed
        raise TemplateError(f"{where}: a value could not be formatted: {_failure(exc)}") from exc


def legacy_context(input_data: Mapping[str, Any], *, max_chars: int = MAX_LEGACY_CHARS) -> str:
    """Today's "Additional context" JSON (``indent=2``, ``default=str``), cut at ``max_chars``.

    Streamed, so an input too big to send is refused before it is all built; an input JSON
    cannot show (a circular reference, an integer over Python's digit limit, a value whose
    ``__str__`` fails) is a :class:`TemplateError`, not a crash.
    """
    encoder = json.JSONEncoder(indent=2, default=str)
    chunks: list[str] = []
    size = 0
    try:
        for chunk in encoder.iterencode(dict(input_data)):
            size += len(chunk)
            if size > max_chars:
                raise TemplateError(
                    f"input_data as JSON is longer than the legacy limit of {max_chars} "
                    "characters (legacy nodes send the whole input as context)"
                )
            chunks.append(chunk)
    except TemplateError:
        raise
    except RecursionError:
        raise TemplateError("input_data nests too deeply to be sent as JSON context") from None
    except ValueError as exc:
        if "integer string conversion" in str(exc):
            digits = sys.get_int_max_str_digits()
            raise TemplateError(
                f"input_data holds an integer with more than {digits} digits, which cannot be "
                "sent as JSON context"
            ) from None
        raise TemplateError(f"input_data cannot be sent as JSON context: {exc}") from exc
    except Exception as exc:
        raise TemplateError(f"input_data cannot be sent as JSON context: {_failure(exc)}") from exc
    return "".join(chunks)


def legacy_syntax_problem(text: str) -> tuple[int, int, str] | None:
    """``(line, column, message)`` of the first brace ``str.format`` cannot parse, else None.

    Legacy prompts are formatted only when they contain ``{``, so only those are checked.
    """
    if "{" not in text:
        return None
    try:
        list(_LegacyFormatter(MAX_LEGACY_CHARS).parse(text))
    except ValueError as exc:
        offset = _unmatched_brace(text)
        line_start = text.rfind("\n", 0, offset) + 1
        return text.count("\n", 0, offset) + 1, offset - line_start + 1, str(exc)
    return None


def _unmatched_brace(text: str) -> int:
    """Where ``str.format`` gives up: a lone ``}`` or a ``{`` never closed."""
    i = 0
    while i < len(text):
        if text.startswith(("{{", "}}"), i):
            i += 2
        elif text[i] == "}":
            return i
        elif text[i] == "{":
            depth, j = 1, i + 1
            while j < len(text) and depth:
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            if depth:
                return i
            i = j
        else:
            i += 1
    return 0


class PromptTemplate:
    """Today's ``PromptTemplate``: ``str.format`` text plus the variables it requires."""

    def __init__(self, template: str, variables: list[str] | None = None) -> None:
        self.template = template
        self.variables = variables or []

    def format(self, **kwargs: Any) -> str:
        """The filled-in text; a LegacyTemplateError (an AIServiceError, as today) names
        missing variables."""
        missing = [v for v in self.variables if v not in kwargs]
        if missing:
            raise LegacyTemplateError(f"Missing required variables: {missing}")
        try:
            return _LegacyFormatter(MAX_LEGACY_CHARS).vformat(self.template, (), kwargs)
        except KeyError as e:
            raise LegacyTemplateError(f"Template formatting error: {e}") from e


DEFAULT_TEMPLATES: dict[str, PromptTemplate] = {
    "customer_inquiry": PromptTemplate(
        "You are a helpful automotive dealership assistant. A customer has submitted the "
        "following inquiry: '{inquiry}'. Please provide a professional and helpful response "
        "that addresses their needs. Context: {context}",
        ["inquiry", "context"],
    ),
    "lead_qualification": PromptTemplate(
        "Analyze the following customer information and determine their qualification level "
        "for automotive sales. Customer info: {customer_info}. Provide a qualification score "
        "(1-10) and reasoning.",
        ["customer_info"],
    ),
    "service_recommendation": PromptTemplate(
        "Based on the vehicle information and customer concerns, recommend appropriate "
        "service actions. Vehicle: {vehicle_info}, Concerns: {concerns}. Provide specific "
        "recommendations and estimated costs if applicable.",
        ["vehicle_info", "concerns"],
    ),
    "generic_processing": PromptTemplate(
        "Process the following data according to the instructions: {instructions}. "
        "Data: {data}. Provide a structured response.",
        ["instructions", "data"],
    ),
}
