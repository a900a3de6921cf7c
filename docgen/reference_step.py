"""``reference/step-config.md`` from the step JSON Schema, the one rule set for ``node.data``.

Fields, constraints and the cross-field rules are read from the schema's structure; the
runtime model choices are found by diffing :func:`step_schema` with and without a policy,
so the page says exactly what ``auterity-ai-step schema`` adds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from auterity_ai_step.contract import step
from auterity_ai_step.contract.policy import load_policy
from auterity_ai_step.resources import bundled_policy_path, schema_text

from . import md

__all__ = ["constraints", "omitted", "render", "type_name"]

SOURCE = "schemas/ai_step.schema.json"
# Keys shown in their own rows; every other keyword of a property is a constraint.
_DESCRIPTIVE = frozenset(
    {"type", "title", "description", "default", "examples", "items", "properties", "$ref"}
)
_RULES = md.SCHEMA_RULES


def _schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(schema_text())
    return data


def _def_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def type_name(prop: Mapping[str, Any]) -> str:
    """A property's type in words, with links to nested definitions."""
    if "$ref" in prop:
        name = _def_name(prop["$ref"])
        return f"[{name}](#{name}) object"
    kind = prop.get("type", "any")
    if isinstance(kind, list):
        kind = " or ".join(kind)
    if kind == "array" and "items" in prop:
        return f"array of {type_name(prop['items'])}"
    return str(kind)


def constraints(prop: Mapping[str, Any]) -> list[str]:
    """Each validation keyword of a property as a short phrase (unknown ones verbatim)."""
    out = []
    order = [*_RULES, *sorted(prop)]
    for key in sorted(prop, key=order.index):
        if key in _DESCRIPTIVE:
            continue
        value = prop[key]
        if key == "enum":
            out.append("one of " + ", ".join(md.json_value(v) for v in value))
        elif key == "additionalProperties" and value is False:
            out.append("no other keys")
        elif key == "required":
            out.append("requires " + ", ".join(md.code(v) for v in value))
        elif key in _RULES:
            shown = md.code(value) if key in ("pattern", "format") else md.json_value(value)
            out.append(_RULES[key].format(shown))
        else:
            out.append(f"{md.code(key)}: {md.json_value(value)}")
    return out


def _examples(prop: Mapping[str, Any]) -> tuple[list[str], list[Any]]:
    """Short scalar examples (shown inline) and structured ones (shown as JSON blocks)."""
    inline, blocks = [], []
    for example in prop.get("examples", []):
        if isinstance(example, dict | list):
            blocks.append(example)
        else:
            inline.append(md.json_value(example))
    return inline, blocks


def omitted(name: str) -> str:
    """What a step gets when ``name`` is left out: StepConfig's own default, not the form's."""
    field = step.StepConfig.model_fields.get(name)
    if field is None:
        return "ignored"
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "not set"
    if isinstance(value, tuple):
        value = list(value)
    return md.json_value(dict(value) if isinstance(value, Mapping) else value)


def _field(name: str, prop: Mapping[str, Any], required: bool, level: str, top: bool) -> str:
    """One field: heading, title and description, a facts table, structured examples."""
    anchor = name.replace(".", "-")
    parts = [f"{level} `{name}` {{ #{anchor} }}\n", f"**{md.prose(prop.get('title', name))}**. "]
    parts[-1] += md.prose(prop.get("description", "")) + "\n"
    rows = [("Type", type_name(prop)), ("Required", "yes" if required else "no")]
    if "default" in prop:
        rows.append(("Form default", md.json_value(prop["default"])))
    if top:
        rows.append(("When omitted", omitted(name)))
    if constraints(prop):
        rows.append(("Constraints", "; ".join(constraints(prop))))
    item = prop.get("items", {})
    if item and "$ref" not in item:
        facts = constraints(item)
        facts += [md.cell(item["description"].rstrip("."))] if "description" in item else []
        facts += [f"form default {md.json_value(item['default'])}"] if "default" in item else []
        item_inline, _ = _examples(item)
        facts += [f"e.g. {', '.join(item_inline)}"] if item_inline else []
        rows.append(("Each item", "; ".join(facts)))
    inline, blocks = _examples(prop)
    if inline:
        rows.append(("Examples", ", ".join(inline)))
    parts.append(md.table(["Property", "Value"], rows))
    for example in blocks:
        parts.append("Example:\n\n" + md.fence(json.dumps(example, indent=2), "json"))
    return "\n".join(parts)


def _branch_phrase(branch: Mapping[str, Any]) -> str:
    """One ``oneOf`` branch of ``then``, e.g. '`prompt` is given, at least 1 character(s)'."""
    names = branch.get("required", [])
    words = []
    for name in names:
        extra = constraints(
            {k: v for k, v in branch.get("properties", {}).get(name, {}).items() if k != "type"}
        )
        words.append(f"{md.code(name)} is given" + (f" ({', '.join(extra)})" if extra else ""))
    return " and ".join(words)


def _rules(schema: Mapping[str, Any]) -> Iterator[str]:
    """The schema's cross-field rules (``if``/``then``/``oneOf``) in prose."""
    cond, then = schema.get("if", {}), schema.get("then", {})
    keys = cond.get("required", [])
    if keys and then:
        allowed = [
            ", ".join(md.json_value(v) for v in schema["properties"][k].get("enum", []))
            for k in keys
        ]
        given = " and ".join(
            f"{md.code(k)}" + (f" (allowed: {a})" if a else "")
            for k, a in zip(keys, allowed, strict=True)
        )
        yield f"**A step that has {given}** must also satisfy:\n"
        branches = then.get("oneOf", [])
        if branches:
            yield "- exactly one of the following holds (not none, not two):"
            yield from (f"    - {_branch_phrase(b)}" for b in branches)
        for key in sorted(set(then) - {"oneOf", "type"}):
            yield f"- {md.code(key)}: {md.json_value(then[key])}"
        names = " and ".join(md.code(k) for k in keys)
        yield (
            f"\n**A node without {names} is a legacy node**: the rules above do not apply, "
            "and each field keeps the meaning described for legacy nodes below.\n"
        )
    if schema.get("additionalProperties") is False:
        yield (
            "**No other keys** are allowed in `node.data`: a key not listed on this page is "
            "an error naming the allowed keys.\n"
        )


def _model_choices() -> str:
    """What ``step_schema(policy)`` adds to the shipped schema, and the bundled policy's names."""
    policy = load_policy(bundled_policy_path())
    base, live = step.base_schema(), step.step_schema(policy)
    added = []
    for name, prop in live["properties"].items():
        for where, sub, orig in (
            ("", prop, base["properties"][name]),
            (" items", prop.get("items", {}), base["properties"][name].get("items", {})),
        ):
            if "enum" in sub and "enum" not in orig:
                added.append((f"{md.code(name)}{where}", sub["enum"]))
    lines = [
        "The shipped schema leaves these as free strings: the model names come from the model "
        "policy at run time. `auterity-ai-step schema` and `GET /api/models/step-schema` "
        "return the schema with an `enum` of the live policy's models added to:\n",
    ]
    for where, names in added:
        extra = [n for n in names if n not in policy.model_names]
        note = f" plus {', '.join(md.json_value(n) for n in extra)}" if extra else ""
        lines.append(f"- {where}: the policy's model names{note}")
    lines.append(
        "\nA step is also checked against the policy when it runs: an unknown model name is "
        "an error listing the known ones. With the bundled policy "
        "(`policies/model_policies.yml`) the names are: "
        + ", ".join(md.code(n) for n in policy.model_names)
        + ".\n"
    )
    return "\n".join(lines)


def render() -> str:
    """The whole page."""
    schema = _schema()
    props: Mapping[str, Any] = schema["properties"]
    required = set(schema.get("required", []))
    ignored = [n for n in props if n in step.IGNORED_NODE_KEYS]
    fields = [n for n in props if n not in step.IGNORED_NODE_KEYS]
    out = [
        md.header(SOURCE, "Step config reference"),
        md.prose(schema.get("description", "")) + "\n",
        f"JSON Schema {md.code(schema.get('$schema', ''))}, id {md.code(schema.get('$id', ''))}. "
        "Builder forms read the same file; the page below is generated from it.\n",
        "## Summary\n",
        "*Form default* is the schema's `default`: what a builder form fills in. *When omitted* "
        "is what the step uses when the key is missing from `node.data` (the typed "
        "`StepConfig`'s default); the two can differ.\n",
        md.table(
            ["Field", "Type", "Form default", "When omitted", "Title"],
            [
                (
                    f"[`{n}`](#{n})",
                    md.cell(type_name(props[n])),
                    md.json_value(props[n]["default"]) if "default" in props[n] else "",
                    omitted(n),
                    md.cell(props[n].get("title", "")),
                )
                for n in fields + ignored
            ],
        ),
        "## Rules across fields\n",
        *_rules(schema),
        "## How validation works\n",
        md.rst(step.__doc__ or ""),
        md.rst(step.StepConfig.__doc__ or ""),
        "## Model choices\n",
        _model_choices(),
        "## Fields\n",
    ]
    out += [_field(n, props[n], n in required, "###", top=True) for n in fields]
    out.append(_builder_keys(props, ignored))
    out.append("## Nested definitions\n")
    out += [_definition(schema, name) for name in schema.get("$defs", {})]
    return "\n".join(out).rstrip("\n") + "\n"


def _builder_keys(props: Mapping[str, Any], names: list[str]) -> str:
    """One table for the builder's own keys: they matter only in that they are accepted."""
    rows = [
        (
            f'<span id="{n}"></span>`{n}`',
            md.cell(props[n].get("title", "")),
            md.cell(type_name(props[n])),
            md.json_value(props[n]["default"]) if "default" in props[n] else "",
            md.cell("; ".join(constraints(props[n]))),
            ", ".join(_examples(props[n])[0]),
            md.cell(props[n].get("description", "")),
        )
        for n in names
    ]
    headers = ["Key", "Title", "Type", "Form default", "Constraints", "Examples", "Description"]
    return (
        "## Builder keys (accepted and ignored) { #builder-keys }\n\n"
        "The workflow builder may store these on the node; the AI step accepts and ignores "
        "them (they never reach the step's typed config).\n\n" + md.table(headers, rows)
    )


def _definition(schema: Mapping[str, Any], name: str) -> str:
    """A ``$defs`` entry: what it is, where it is used, and each of its fields."""
    definition = schema["$defs"][name]
    out = [
        f"### `{name}` {{ #{name} }}\n",
        f"**{md.prose(definition.get('title', name))}**. "
        + md.prose(definition.get("description", ""))
        + f" Used by: {', '.join(_users(schema, name))}.\n",
    ]
    if constraints(definition):
        out.append("Constraints: " + "; ".join(constraints(definition)) + ".\n")
    inner = definition.get("required", [])
    out += [
        _field(f"{name}.{k}", v, k in inner, "####", top=False)
        for k, v in definition.get("properties", {}).items()
    ]
    return "\n".join(out)


def _users(schema: Mapping[str, Any], name: str) -> list[str]:
    """The top-level fields whose value (or items) refer to ``$defs/<name>``."""
    ref = f"#/$defs/{name}"
    return [
        f"[`{field}`](#{field})"
        for field, prop in schema["properties"].items()
        if ref in (prop.get("$ref"), prop.get("items", {}).get("$ref"))
    ]
