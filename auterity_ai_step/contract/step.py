"""The AI step contract: the JSON Schema for ``node.data`` and the typed StepConfig.

The schema file (``schemas/ai_step.schema.json``) is the single rule set: builder forms read
it, and :func:`validate_step_config` runs it through jsonschema (compiled once), then adds
the checks a schema cannot express (known model names, unique fallbacks, a valid
``output_schema``). Every problem becomes one line naming the JSON path, the rule broken and
the allowed values.
"""

from __future__ import annotations

import copy
import difflib
import json
import math
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..errors import StepConfigError
from ..resources import schema_text

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

    from .policy_model import Policy

__all__ = [
    "AUTO_MODEL",
    "IGNORED_NODE_KEYS",
    "ChatMessage",
    "StepConfig",
    "base_schema",
    "step_problems",
    "step_schema",
    "validate_step_config",
]

AUTO_MODEL = "auto"
IGNORED_NODE_KEYS = frozenset(
    {"label", "description", "name", "type", "id", "icon", "color", "notes"}
)
_SOURCES = ("prompt", "template", "messages")
_MAX_SHOWN = 60
_CACHE_SIZE = 1024
_CACHE: dict[tuple[str, str | None], StepConfig] = {}


class ChatMessage(BaseModel):
    """One chat message of a ``messages`` step."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str


class StepConfig(BaseModel):
    """A validated AI step; build it with :func:`validate_step_config`.

    In a version-2 step empty values mean "not given": ``prompt``/``template``/``system`` of
    ``""``, ``messages`` of ``[]`` and ``output_schema`` of ``{}`` become None, and a model of
    ``"auto"`` becomes None (the policy chooses). Legacy nodes keep their values as they are,
    so they render exactly as before.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    config_version: int | None = None
    legacy: bool = True
    prompt: str | None = None
    template: str | None = None
    messages: tuple[ChatMessage, ...] | None = None
    template_variables: Mapping[str, Any] = Field(default_factory=dict)
    system: str | None = None
    model: str | None = None
    fallback_models: tuple[str, ...] = ()
    policy_fallbacks: bool = True
    cost_limit: Decimal | None = None
    task_type: str | None = None
    cost_preference: Literal["cheapest", "balanced", "quality"] = "balanced"
    temperature: float = 0.7
    max_tokens: int | None = None
    timeout_s: float | None = None
    response_format: Literal["text", "json"] = "text"
    output_schema: Mapping[str, Any] | None = None
    idempotent: bool = True

    def to_data(self) -> dict[str, Any]:
        """The step as ``node.data`` again; ``validate_step_config(to_data())`` equals self."""
        data = self.model_dump(exclude_unset=True, exclude={"legacy"}, mode="python")
        out: dict[str, Any] = {}
        for key, value in data.items():
            if value is None:
                continue
            if isinstance(value, Decimal):
                value = int(value) if value == value.to_integral_value() else float(value)
            elif key == "messages":
                value = [dict(m) for m in value]
            elif isinstance(value, tuple):
                value = list(value)
            out[key] = value
        return out


@cache
def _base() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_text())
    return schema


def base_schema() -> dict[str, Any]:
    """A fresh copy of the step schema as shipped (no policy model names)."""
    return copy.deepcopy(_base())


@cache
def _validator() -> Draft202012Validator:
    # jsonschema loads here, when a step is first validated: ``schema`` never needs it.
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_base())


def step_schema(policy: Policy | None = None) -> dict[str, Any]:
    """The step schema; with a policy, ``model`` and ``fallback_models`` become dropdowns.

    ``fallback_models`` stays an ordered array of single selects (an ``enum`` on ``items``,
    no ``uniqueItems``): forms then keep the author's order; uniqueness is checked by
    :func:`validate_step_config`.
    """
    schema = base_schema()
    if policy is not None:
        names = list(policy.model_names)
        props = schema["properties"]
        _limit_to(props["model"], [*names, AUTO_MODEL], AUTO_MODEL)
        _limit_to(props["fallback_models"]["items"], names, policy.routing.default_model)
        examples = [
            [name for name in example if name in names]
            for example in props["fallback_models"].get("examples", ())
        ]
        props["fallback_models"]["examples"] = [e for e in examples if e] or [names[:2]]
    return schema


def _limit_to(field: dict[str, Any], choices: list[str], default: str) -> None:
    """Make ``field`` a choice of ``choices``, its default and examples among them too
    (the shipped schema's are names of the bundled policy, which this one may lack)."""
    field["enum"] = choices
    if field.get("default") not in choices:
        field["default"] = default
    examples = [e for e in field.get("examples", ()) if e in choices]
    field["examples"] = examples or choices[:2]


def _path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<step>"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _unknown_keys(path: str, inst: Mapping[str, Any], allowed: list[str]) -> list[str]:
    """One line per unknown key (with the close allowed name, if any, and the fix), then
    the allowed keys once for the object."""
    prefix = "" if path == "<step>" else path + "."
    lines = []
    for key in inst:
        if key in allowed:
            continue
        close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
        fix = f"did you mean {close[0]}? Rename it" if close else "remove it"
        lines.append(f"{prefix}{key}: unknown key; {fix}")
    lines.append(f"{path}: allowed keys: {', '.join(allowed)}")
    return lines


def _describe(error: ValidationError, data: Mapping[str, Any]) -> list[str]:
    """The lines for one jsonschema error: path, rule broken, allowed values."""
    path = _path(error.absolute_path)
    rule, value, inst = error.validator, error.validator_value, error.instance
    if rule == "additionalProperties":
        return _unknown_keys(path, inst, list(error.schema.get("properties", {})))
    if rule == "oneOf" and path == "<step>":
        given = [key for key in _SOURCES if data.get(key)]
        found = ", ".join(given) if given else "none"
        return [
            "<step>: a config_version 2 step needs exactly one of prompt, template or "
            f"messages (found: {found})"
        ]
    messages: dict[str, Callable[[], str]] = {
        "enum": lambda: f"{_shown(inst)} is not one of {', '.join(map(str, value))}",
        "const": lambda: f"must be {value!r} (got {_shown(inst)})",
        "type": lambda: f"must be of type {value} (got {type(inst).__name__})",
        "minimum": lambda: f"must be >= {value} (got {inst})",
        "maximum": lambda: f"must be <= {value} (got {inst})",
        "exclusiveMinimum": lambda: f"must be > {value} (got {inst})",
        "minLength": lambda: f"must be at least {value} character(s) long",
        "maxLength": lambda: f"must be at most {value} characters long",
        "minItems": lambda: f"must have at least {value} item(s)",
        "maxItems": lambda: f"must have at most {value} items",
        "required": lambda: error.message.replace("is a required property", "is required"),
    }
    make = messages.get(str(rule))
    return [f"{path}: {make() if make else error.message}"]


def _model_errors(data: Mapping[str, Any], policy: Policy) -> list[str]:
    known = policy.model_names
    listed = ", ".join(known)
    errors = []
    model = data.get("model")
    if isinstance(model, str) and model not in (AUTO_MODEL, "") and model not in known:
        errors.append(f"model: {model!r} is not a known model (known: {listed}, auto)")
    fallbacks = data.get("fallback_models")
    for i, name in enumerate(fallbacks if isinstance(fallbacks, list) else ()):
        if isinstance(name, str) and name not in known:
            errors.append(f"fallback_models[{i}]: {name!r} is not a known model (known: {listed})")
    return errors


def _extra_errors(data: Mapping[str, Any], policy: Policy | None) -> list[str]:
    """Checks the schema cannot express; they look only at values of the right type, so
    they run beside the schema's own errors and one run reports every problem."""
    errors = [
        f"{key}: must be a finite number (got {value})"
        for key, value in data.items()
        if isinstance(value, float) and not math.isfinite(value)
    ]
    first: dict[str, int] = {}
    fallbacks = data.get("fallback_models")
    for i, name in enumerate(fallbacks if isinstance(fallbacks, list) else ()):
        if not isinstance(name, str):
            continue
        if name in first:
            errors.append(
                f"fallback_models[{i}]: {name!r} repeats fallback_models[{first[name]}]; "
                "each fallback model may appear once"
            )
        first.setdefault(name, i)
    if isinstance(data.get("output_schema"), dict) and data["output_schema"]:
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import SchemaError

        try:
            Draft202012Validator.check_schema(data["output_schema"])
        except SchemaError as exc:
            where = _path(["output_schema", *exc.absolute_path])
            errors.append(f"{where}: not a valid JSON Schema ({exc.message[:200]})")
    if policy is not None:
        errors.extend(_model_errors(data, policy))
    return errors


def _config_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    fields = {k: v for k, v in data.items() if k not in IGNORED_NODE_KEYS}
    legacy = "config_version" not in fields
    fields["legacy"] = legacy
    if "cost_limit" in fields:
        fields["cost_limit"] = Decimal(str(fields["cost_limit"]))
    if fields.get("model") in (AUTO_MODEL, ""):
        fields["model"] = None
    if not legacy:
        for key in ("prompt", "template", "system", "messages", "output_schema"):
            if key in fields and not fields[key]:
                fields[key] = None
    return fields


def validate_step_config(data: Mapping[str, Any], policy: Policy | None = None) -> StepConfig:
    """Validate ``node.data`` and build its StepConfig; StepConfigError lists every problem.

    With a policy, ``model`` and ``fallback_models`` must name its models (``model`` may
    also be ``"auto"``).
    """
    if data is None:
        raise StepConfigError(
            ["<step>: the step file is empty; write the step's keys, e.g. prompt and model"]
        )
    if not isinstance(data, Mapping):
        raise StepConfigError([f"<step>: must be an object (got {type(data).__name__})"])
    try:
        text = json.dumps(data, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError):
        return _validate(data, policy)
    # The same node config runs again and again: validate it once per policy version.
    key = (text, policy.version if policy is not None else None)
    config = _CACHE.get(key)
    if config is None:
        config = _validate(json.loads(text), policy)
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        _CACHE[key] = config
    return config


def _ordered(errors: Iterable[str]) -> list[str]:
    """Each problem once, by field; the "allowed keys" lines last."""
    unique = sorted(set(errors))
    return [e for e in unique if ": allowed keys: " not in e] + [
        e for e in unique if ": allowed keys: " in e
    ]


def _validate(data: Mapping[str, Any], policy: Policy | None) -> StepConfig:
    errors = [line for e in _validator().iter_errors(data) for line in _describe(e, data)]
    errors.extend(_extra_errors(data, policy))
    if errors:
        raise StepConfigError(_ordered(errors))
    return StepConfig.model_validate(_config_fields(data))


def step_problems(data: Any, policy: Policy | None = None) -> list[str]:
    """Every problem of ``node.data`` in one list: the schema's and the policy's (as
    :func:`validate_step_config` raises them) and each template that cannot compile,
    with its field, line and column. Empty when the step is valid; nothing is rendered."""
    from .templates import template_problems

    try:
        validate_step_config(data, policy)
        errors: list[str] = []
    except StepConfigError as exc:
        errors = exc.errors
    if isinstance(data, Mapping):
        errors = [*errors, *template_problems(data)]
    return _ordered(errors)
