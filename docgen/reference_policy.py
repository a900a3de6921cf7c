"""``reference/policy.md`` from the policy's pydantic models and the parser's public constants.

Descriptions, defaults and constraints come from ``Field(...)`` in ``policy_model``; the file
format (top-level keys, aliases, per-provider defaults, derived quality) from the constants
of ``policy_format``; the examples are the shipped policy files, embedded verbatim.
"""

from __future__ import annotations

import inspect
import json
import types
import typing
from collections.abc import Mapping
from decimal import Decimal
from importlib import resources
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from auterity_ai_step import settings
from auterity_ai_step.contract import policy_format, policy_model, policy_parse
from auterity_ai_step.resources import bundled_policy_path

from . import md

__all__ = ["field_type", "render"]

SOURCE = (
    "auterity_ai_step/contract/policy_model.py, auterity_ai_step/contract/policy_parse.py, "
    "auterity_ai_step/contract/policy_format.py and policies/"
)
_SCALARS = {str: "string", int: "integer", float: "number", bool: "boolean", Decimal: "decimal"}
_BOUNDS = (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<"))


def field_type(annotation: Any) -> str:
    """A field's annotation in the YAML reader's words, e.g. 'list of string'."""
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (types.UnionType, typing.Union):
        return " or ".join("null" if a is type(None) else field_type(a) for a in args)
    if origin in (tuple, list):
        return f"list of {field_type(args[0])}"
    if origin is not None and isinstance(origin, type) and issubclass(origin, Mapping):
        return f"mapping of {field_type(args[0])} to {field_type(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"`{annotation.__name__}`"
    return md.code(str(annotation))


def _yaml(value: Any) -> str:
    """A default as it would be written in the YAML file."""
    if isinstance(value, Decimal):
        return md.code(format(value.normalize(), "f"))
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, Mapping):
        value = dict(value)
    return md.code(json.dumps(value))


def _constraints(info: FieldInfo) -> str:
    out = []
    for item in info.metadata:
        for attr, sign in _BOUNDS:
            if getattr(item, attr, None) is not None:
                out.append(f"{sign} {getattr(item, attr)}")
        for attr, word in (("min_length", "at least"), ("max_length", "at most")):
            if getattr(item, attr, None) is not None:
                out.append(f"{word} {getattr(item, attr)} character(s)")
    return ", ".join(out)


def _default(info: FieldInfo, derived: Mapping[str, str], name: str) -> str:
    if name in derived:
        return derived[name]
    if info.is_required():
        return "**required**"
    return _yaml(info.get_default(call_default_factory=True))


def _model_table(
    cls: type[BaseModel],
    keys: Mapping[str, str] | None = None,
    derived: Mapping[str, str] | None = None,
) -> str:
    """One row per field: YAML key(s), type, default, constraints, description."""
    rows = []
    for name, info in cls.model_fields.items():
        rows.append(
            (
                (keys or {}).get(name, md.code(name)),
                md.cell(field_type(info.annotation)),
                md.cell(_default(info, derived or {}, name)),
                md.cell(_constraints(info)),
                md.cell(info.description or ""),
            )
        )
    return md.table(["YAML key", "Type", "Default", "Constraints", "Description"], rows)


def _model_keys() -> dict[str, str]:
    """ModelSpec field -> how a file entry spells it, aliases included."""
    keys = {name: md.code(name) for name in policy_model.ModelSpec.model_fields}
    keys["name"] = "the entry's key (field `name`)"
    for alias, *fields in policy_format.MODEL_ALIASES:
        for field in fields:
            keys[field] += f" or {md.code(alias)}" + (" (sets both prices)" if fields[1:] else "")
    for sub, field in policy_format.HEALTH_KEYS.items():
        keys[field] += f" or {md.code('health.' + sub)}"
    return keys


def _derived() -> dict[str, str]:
    """Defaults the parser fills in for a model entry (see ``_normalise_model``)."""
    cap = policy_format.MAX_OUTPUT_TOKENS_DEFAULT_CAP
    return {
        "name": "",
        "provider": "the group's key; **required** in the flat form",
        "litellm_model": "`<prefix>/<name>`, prefix by provider ([table](#provider-defaults))",
        "api_key_env": "by provider ([table](#provider-defaults)), else none",
        "max_output_tokens": f"`min(context_window, {cap})`",
        "quality": "derived from the prices ([table](#derived-quality))",
        "context_window": "**required**",
    }


def _provider_defaults() -> str:
    providers = sorted(set(policy_format.LITELLM_PREFIX) | set(policy_format.PROVIDER_KEY_ENV))
    rows = [
        (
            md.code(p),
            md.code(f"{policy_format.LITELLM_PREFIX.get(p, p)}/<name>"),
            md.code(policy_format.PROVIDER_KEY_ENV[p])
            if p in policy_format.PROVIDER_KEY_ENV
            else "none",
        )
        for p in providers
    ]
    rows.append(("any other", md.code("<provider>/<name>"), "none"))
    return md.table(["Provider", "Default `litellm_model`", "Default `api_key_env`"], rows)


def _quality() -> str:
    rows = [("input or output price not given", md.code(str(policy_format.QUALITY_UNPRICED)))]
    rows.append(("0 (free, e.g. local)", md.code(str(policy_format.QUALITY_FREE))))
    low = "0"
    for bound, quality in policy_format.QUALITY_TIERS:
        rows.append((f"over {low}, under {bound}", md.code(str(quality))))
        low = str(bound)
    rows.append((f"{low} or more", md.code(str(policy_format.QUALITY_TOP))))
    doc = inspect.cleandoc(policy_format.derive_quality.__doc__ or "").split("\n\n")[0]
    return (
        md.prose(doc)
        + " The blended price is `(input_cost_per_1k + output_cost_per_1k) / 2`, in USD per "
        "1,000 tokens.\n\n" + md.table(["Blended price (USD per 1,000 tokens)", "`quality`"], rows)
    )


def _sections() -> str:
    """The top-level keys, what each is validated into and whether it is required."""
    policy_fields = policy_model.Policy.model_fields
    rows = []
    for key, cls in policy_format.SECTION_MODELS.items():
        info = next(
            f
            for f in policy_fields.values()
            if f.annotation is cls or cls in typing.get_args(f.annotation)
        )
        shape = "mapping of model entries" if key == "models" else "mapping"
        rows.append(
            (
                f"[`{key}`](#{key.replace('_', '-')})",
                shape,
                "yes" if info.is_required() else "no",
                md.cell(inspect.getdoc(cls) or ""),
            )
        )
    return md.table(["Key", "Value", "Required", "What it holds"], rows)


def _policy_file(*parts: str) -> str:
    return resources.files("auterity_ai_step._policies").joinpath(*parts).read_text("utf-8")


def render() -> str:
    """The whole page."""
    parse_doc = inspect.getdoc(policy_parse) or ""
    aliases = [
        (md.code(alias), ", ".join(md.code(f) for f in fields))
        for alias, *fields in policy_format.MODEL_ALIASES
    ]
    aliases += [
        (md.code(f"health: {{{sub}: ...}}"), md.code(field))
        for sub, field in policy_format.HEALTH_KEYS.items()
    ]
    section_docs = [
        (key, cls)
        for key, cls in policy_format.SECTION_MODELS.items()
        if cls is not policy_model.ModelSpec
    ]
    out = [
        md.header(SOURCE, "Model policy reference"),
        "The model policy says which models exist, what they cost, which to prefer and how to "
        "retry. It is a YAML file: "
        f"{md.code('$' + settings.POLICY_ENV)} names it, else the bundled "
        "`policies/model_policies.yml` is used. It is validated as a whole; every problem is "
        "reported with its path.\n",
        md.rst(parse_doc.split("\n", 1)[1]),
        "## Top-level keys\n",
        "Any other top-level key is an error.\n",
        _sections(),
        "## `models` { #models }\n",
        md.prose(inspect.getdoc(policy_model.ModelSpec) or "") + "\n",
        "Entries are grouped by provider (`models: {openai: {gpt-4o-mini: {...}}}`, the "
        "group's key is the provider) or flat (`models: {gpt-4o-mini: {provider: openai, "
        "...}}`). Prices are USD per 1,000 tokens. A literal API key is refused: name the "
        "environment variable with `api_key_env`.\n",
        _model_table(policy_model.ModelSpec, _model_keys(), _derived()),
        "### Aliases { #aliases }\n",
        md.table(["Alias key", "Sets"], aliases),
        "### Defaults by provider { #provider-defaults }\n",
        _provider_defaults(),
        "### Derived quality { #derived-quality }\n",
        _quality(),
    ]
    for key, cls in section_docs:
        out.append(f"## `{key}` {{ #{key.replace('_', '-')} }}\n")
        out.append(md.prose(inspect.getdoc(cls) or "") + "\n")
        out.append(_model_table(cls))
    out += [
        "## Example: the bundled policy { #example-bundled }\n",
        "`policies/model_policies.yml`, shipped with the package and used when "
        f"{md.code('$' + settings.POLICY_ENV)} is not set:\n",
        md.fence(_policy_file(bundled_policy_path().name), "yaml"),
        "## Example: the original task's seed format { #example-seed }\n",
        "`policies/examples/original_task.yml`, the format the original task specified, is "
        "accepted as is: its keys are the [aliases](#aliases) above, and what it leaves out "
        "gets the defaults of [`models`](#models).\n",
        md.fence(_policy_file("examples", "original_task.yml"), "yaml"),
        "## Example: local models only { #example-local }\n",
        "`policies/examples/local_only.yml`:\n",
        md.fence(_policy_file("examples", "local_only.yml"), "yaml"),
    ]
    return "\n".join(out).rstrip("\n") + "\n"
