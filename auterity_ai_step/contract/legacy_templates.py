"""Today's Auterity prompt templates, kept byte for byte: ``PromptTemplate``,
``DEFAULT_TEMPLATES`` and ``str.format`` rendering for legacy nodes.

``str.format`` on author text with step data could walk ``{x.__class__.__init__}``; the
formatter here keeps ``str.format`` output for every ordinary placeholder and refuses
walks into private attributes and giant widths. Import these from
:mod:`auterity_ai_step.contract.templates`.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any

from auterity_ai_step.errors import AIServiceError, TemplateError

__all__ = [
    "DEFAULT_SYSTEM_PROMPT",
    "DEFAULT_TEMPLATES",
    "PromptTemplate",
    "legacy_format",
    "legacy_syntax_problem",
]

DEFAULT_SYSTEM_PROMPT = "You are a helpful AI assistant for automotive dealership workflows."
_MAX_WIDTH = 10_000
_PRIVATE_WALK = re.compile(r"[.\[]\s*_")
_DIGITS = re.compile(r"\d+")


class _LegacyFormatter(string.Formatter):
    """``str.format`` semantics, minus attribute/index walks into private attributes."""

    def get_field(self, field_name: str, args: Any, kwargs: Mapping[str, Any]) -> tuple[Any, str]:
        if _PRIVATE_WALK.search(field_name):
            raise TemplateError(f"unsafe placeholder {{{field_name}}} refused")
        found: tuple[Any, str] = super().get_field(field_name, args, kwargs)
        return found

    def format_field(self, value: Any, format_spec: str) -> Any:
        for digits in _DIGITS.findall(format_spec):
            if int(digits) > _MAX_WIDTH:
                raise TemplateError(f"format spec {format_spec!r}: width over {_MAX_WIDTH}")
        return super().format_field(value, format_spec)


_LEGACY = _LegacyFormatter()


def legacy_format(text: str, variables: Mapping[str, Any], *, where: str = "prompt") -> str:
    """Today's ``text.format(**variables)``; errors become :class:`TemplateError`."""
    try:
        return _LEGACY.vformat(text, (), variables)
    except TemplateError as exc:
        raise TemplateError(f"{where}: {exc}") from exc
    except KeyError as exc:
        known = sorted(str(k) for k in variables)
        raise TemplateError(
            f"{where}: placeholder {{{exc.args[0]}}} has no value (variables: {known})"
        ) from exc
    except (IndexError, ValueError, AttributeError, TypeError) as exc:
        raise TemplateError(f"{where}: formatting error: {exc}") from exc


def legacy_syntax_problem(text: str) -> tuple[int, int, str] | None:
    """``(line, column, message)`` of the first brace ``str.format`` cannot parse, else None.

    Legacy prompts are formatted only when they contain ``{``, so only those are checked.
    """
    if "{" not in text:
        return None
    try:
        list(_LEGACY.parse(text))
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
        """The filled-in text; an AIServiceError names missing variables, as today."""
        missing = [v for v in self.variables if v not in kwargs]
        if missing:
            raise AIServiceError(f"Missing required variables: {missing}")
        try:
            return _LEGACY.vformat(self.template, (), kwargs)
        except KeyError as e:
            raise AIServiceError(f"Template formatting error: {e}") from e


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
