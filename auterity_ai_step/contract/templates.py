"""Prompt building for one step: today's ``str.format`` for legacy nodes, Jinja2 for new ones.

The stable import path for everything template-related: the Jinja2 sandbox lives in
:mod:`.template_sandbox` (the only module that imports Jinja2) and today's templates in
:mod:`.legacy_templates`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from auterity_ai_step.contract.legacy_templates import (
    DEFAULT_SYSTEM_PROMPT,
    DEFAULT_TEMPLATES,
    MAX_LEGACY_CHARS,
    PromptTemplate,
    legacy_context,
    legacy_format,
    legacy_syntax_problem,
)
from auterity_ai_step.contract.template_sandbox import (
    RenderLimits,
    is_plain_substitution,
    render_template,
    renders_in_place,
    syntax_problem,
)
from auterity_ai_step.errors import TemplateError

if TYPE_CHECKING:
    from auterity_ai_step.contract.step import StepConfig

__all__ = [
    "DEFAULT_SYSTEM_PROMPT",
    "DEFAULT_TEMPLATES",
    "MAX_LEGACY_CHARS",
    "PromptTemplate",
    "RenderLimits",
    "build_messages",
    "is_plain_substitution",
    "legacy_format",
    "render_template",
    "renders_quickly",
    "template_problems",
]

_LEGACY_DEFAULT_PROMPT = "Process this data"


def _named_template(name: str, variables: Mapping[str, Any]) -> str:
    template = DEFAULT_TEMPLATES.get(name)
    if template is None:
        raise TemplateError(
            f"Template '{name}' not found (known: {', '.join(sorted(DEFAULT_TEMPLATES))})"
        )
    try:
        return template.format(**variables)
    except (TemplateError, IndexError, ValueError, TypeError) as exc:
        raise TemplateError(f"template '{name}': {exc}") from exc
    except Exception as exc:  # a value's own __str__/__format__ failed
        detail = f"{type(exc).__name__}: {exc}"[:200]
        raise TemplateError(f"template '{name}': a value could not be formatted: {detail}") from exc


def _str_keys(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if isinstance(k, str)}


def build_messages(config: StepConfig, input_data: Mapping[str, Any]) -> list[dict[str, str]]:
    """The chat messages for one step.

    Legacy nodes (no ``config_version``) reproduce today's executor byte for byte: system
    prompt, the ``str.format``-ed prompt (or named template over input + template
    variables), then an "Additional context" system message with the input as JSON when
    the input is not empty. New-style steps render ``prompt``/``messages``/``system`` with
    Jinja2 over ``{**input_data, **template_variables, "input": input_data}`` and add no
    context message: the author decides what of the input the model sees.
    """
    data = _str_keys(input_data)
    variables = {**data, **_str_keys(config.template_variables)}
    system = config.system if config.system is not None else DEFAULT_SYSTEM_PROMPT
    if config.legacy:
        if config.template:
            prompt = _named_template(config.template, variables)
        else:
            prompt = config.prompt if config.prompt is not None else _LEGACY_DEFAULT_PROMPT
            if "{" in prompt:
                prompt = legacy_format(prompt, data)
        messages = [
            {"role": "system", "content": system},
            {"role": "user", "content": prompt},
        ]
        if input_data:
            context = legacy_context(input_data)
            messages.append({"role": "system", "content": f"Additional context: {context}"})
        return messages

    variables["input"] = dict(input_data)
    if config.system is not None:
        system = render_template(config.system, variables, where="system")
    if config.messages:
        rendered = [
            {
                "role": m.role,
                "content": render_template(m.content, variables, where=f"messages[{i}]"),
            }
            for i, m in enumerate(config.messages)
        ]
        if config.system is None and any(m["role"] == "system" for m in rendered):
            return rendered
        return [{"role": "system", "content": system}, *rendered]
    if config.template:
        prompt = _named_template(config.template, variables)
    else:
        source = config.prompt if config.prompt is not None else _LEGACY_DEFAULT_PROMPT
        prompt = render_template(source, variables, where="prompt")
    return [{"role": "system", "content": system}, {"role": "user", "content": prompt}]


def renders_quickly(config: StepConfig) -> bool:
    """Whether :func:`build_messages` may run on the event loop for this step: a new-style
    step whose every template is plain substitution (:func:`is_plain_substitution`) and has
    rendered before (:func:`renders_in_place`: no parse or compile left). Legacy
    ``str.format`` prompts and named templates are not judged; they render in a thread."""
    if config.legacy or config.template:
        return False
    sources = [config.system] if config.system is not None else []
    if config.messages:
        sources += [m.content for m in config.messages]
    else:
        sources.append(config.prompt if config.prompt is not None else _LEGACY_DEFAULT_PROMPT)
    return all(renders_in_place(source) for source in sources)


def _sources(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, text) of every template in a raw step, however invalid the rest is."""
    found = [(key, data[key]) for key in ("prompt", "system") if isinstance(data.get(key), str)]
    messages = data.get("messages")
    for i, message in enumerate(messages if isinstance(messages, list) else ()):
        if isinstance(message, Mapping) and isinstance(message.get("content"), str):
            found.append((f"messages[{i}].content", message["content"]))
    return found


def template_problems(data: Mapping[str, Any]) -> list[str]:
    """One line per template in ``node.data`` that cannot compile: field, line, column.

    Jinja2 for a step with ``config_version``; a legacy node's ``prompt`` is ``str.format``
    text (its ``system`` is sent as written). Nothing is rendered, so no input is needed.
    """
    legacy = "config_version" not in data
    limit = RenderLimits().max_source_chars
    problems = []
    for field, text in _sources(data):
        found: tuple[int, int | None, str] | None
        if legacy:
            found = legacy_syntax_problem(text) if field == "prompt" else None
        elif len(text) > limit:
            problems.append(f"{field}: the template is longer than {limit} characters")
            continue
        else:
            found = syntax_problem(text)
        if found is not None:
            line, column, message = found
            at = f"line {line}" + ("" if column is None else f", column {column}")
            problems.append(f"{field}: template syntax error at {at}: {message}")
    return problems
