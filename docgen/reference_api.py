"""``reference/http-api.md`` and ``reference/openapi.json`` from the app's own OpenAPI document.

The app is built with a throwaway token, an in-memory ledger and the bundled policy, so
generating the docs touches no database, no environment-dependent policy and no network;
the OpenAPI document does not depend on any of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from . import md

__all__ = ["openapi", "render", "render_openapi_json", "schema_type"]

SOURCE = "the OpenAPI document of auterity_ai_step.api.create_app"
_METHODS = ("get", "put", "post", "patch", "delete")
_SCHEMA_REF = "#/components/schemas/"
_RULES = md.SCHEMA_RULES


@cache
def _document() -> str:
    from auterity_ai_step.api.router import create_app
    from auterity_ai_step.contract.policy import load_policy
    from auterity_ai_step.core.policy_source import PolicyStore
    from auterity_ai_step.resources import bundled_policy_path
    from auterity_ai_step.store.ledger import Ledger

    ledger = Ledger("sqlite://")
    try:
        app = create_app(
            api_token="x" * 32,
            policy_store=PolicyStore.fixed(load_policy(bundled_policy_path())),
            ledger=ledger,
        )
        return json.dumps(app.openapi(), indent=2, sort_keys=True) + "\n"
    finally:
        ledger.close()


def openapi() -> dict[str, Any]:
    """A fresh copy of the app's OpenAPI document."""
    data: dict[str, Any] = json.loads(_document())
    return data


def render_openapi_json() -> str:
    """The raw document, keys sorted, indented by 2."""
    return _document()


def _ref_name(ref: str) -> str:
    return ref.removeprefix(_SCHEMA_REF)


def _anchor(name: str) -> str:
    return "schema-" + name.lower()


def schema_type(schema: Mapping[str, Any]) -> str:
    """A schema's type in words, with links to component schemas."""
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return f"[{name}](#{_anchor(name)})"
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " or ".join(schema_type(s) for s in schema[key])
    kind = schema.get("type")
    if kind == "array":
        return f"array of {schema_type(schema.get('items', {}))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"object of string to {schema_type(schema['additionalProperties'])}"
    if kind is None:
        return "any"
    return f"{kind} ({schema['format']})" if "format" in schema else str(kind)


def _bound(part: Mapping[str, Any], key: str) -> Any:
    """A constraint's value; an integer's bounds as integers (FastAPI's OpenAPI model makes
    every ``minimum``/``maximum`` a float, so ``ge=1`` arrives as ``1.0``)."""
    value = part[key]
    if part.get("type") == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _facts(schema: Mapping[str, Any]) -> list[str]:
    """Constraints, allowed values, default and examples of a schema (and its anyOf parts)."""
    out = []
    for part in [schema, *schema.get("anyOf", [])]:
        out += [rule.format(md.code(_bound(part, k))) for k, rule in _RULES.items() if k in part]
        if "enum" in part:
            out.append("one of " + ", ".join(md.json_value(v) for v in part["enum"]))
    if "default" in schema:
        out.append("default " + md.json_value(schema["default"]))
    examples = [e for p in [schema, *schema.get("anyOf", [])] for e in p.get("examples", [])]
    if examples:
        out.append("e.g. " + ", ".join(md.json_value(e) for e in examples[:3]))
    return out


def _description(schema: Mapping[str, Any]) -> str:
    parts = [schema.get("description", "")]
    parts += [s.get("description", "") for s in schema.get("anyOf", []) if not parts[0]]
    return next((p for p in parts if p), "")


def _fields(schema: Mapping[str, Any]) -> str:
    """A table of an object schema's properties."""
    required = set(schema.get("required", []))
    rows = [
        (
            md.code(name),
            md.cell(schema_type(prop)),
            "yes" if name in required else "no",
            md.cell(_description(prop)),
            md.cell("; ".join(_facts(prop))),
        )
        for name, prop in schema.get("properties", {}).items()
    ]
    return md.table(["Field", "Type", "Required", "Description", "Values"], rows)


def _body(schema: Mapping[str, Any], components: Mapping[str, Any]) -> str:
    """A request or response body: its type, and the fields of the object it names."""
    target = schema
    refs = [s for s in [schema, *schema.get("anyOf", [])] if "$ref" in s]
    if refs:
        target = components[_ref_name(refs[0]["$ref"])]
    text = f"{schema_type(schema)}."
    if target.get("description") and refs:
        text += " " + md.prose(target["description"])
    text += "\n"
    if target.get("properties"):
        text += "\n" + _fields(target)
    return text


def _auth(op: Mapping[str, Any], schemes: Mapping[str, Any]) -> str:
    names = sorted({name for req in op.get("security", []) for name in req})
    if not names:
        return "**Auth:** none.\n"
    shown = []
    for name in names:
        scheme = schemes.get(name, {})
        how = (
            "`Authorization: Bearer <token>`"
            if scheme.get("scheme") == "bearer"
            else md.code(scheme.get("type", name))
        )
        extra = f": {md.prose(scheme['description'])}" if scheme.get("description") else ""
        shown.append(f"{how} (scheme {md.code(name)}{extra})")
    return "**Auth:** " + "; ".join(shown) + ".\n"


def _parameters(op: Mapping[str, Any]) -> str:
    params = op.get("parameters", [])
    if not params:
        return ""
    rows = [
        (
            md.code(p["name"]),
            p["in"],
            md.cell(schema_type(p.get("schema", {}))),
            "yes" if p.get("required") else "no",
            md.cell(p.get("description") or _description(p.get("schema", {}))),
            md.cell("; ".join(_facts(p.get("schema", {})))),
        )
        for p in params
    ]
    table = md.table(["Name", "In", "Type", "Required", "Description", "Values"], rows)
    return "**Parameters**\n\n" + table


def _request(op: Mapping[str, Any], components: Mapping[str, Any]) -> Iterator[str]:
    body = op.get("requestBody")
    if not body:
        return
    required = "required" if body.get("required") else "optional"
    yield f"**Request body** ({required})\n"
    if body.get("description"):
        yield md.prose(body["description"]) + "\n"
    for media, content in sorted(body.get("content", {}).items()):
        yield f"Content type {md.code(media)}: " + _body(content.get("schema", {}), components)
        if "example" in content:
            yield "Example:\n\n" + md.fence(json.dumps(content["example"], indent=2), "json")


def _responses(op: Mapping[str, Any], components: Mapping[str, Any]) -> Iterator[str]:
    yield "**Responses**\n"
    rows = []
    for code, response in sorted(op.get("responses", {}).items()):
        schemas = [c.get("schema", {}) for c in response.get("content", {}).values()]
        body = ", ".join(schema_type(s) for s in schemas) or "empty"
        rows.append((md.code(code), md.cell(response.get("description", "")), md.cell(body)))
    yield md.table(["Status", "Meaning", "Body"], rows)
    for code, response in sorted(op.get("responses", {}).items()):
        if not code.startswith("2"):
            continue
        for media, content in sorted(response.get("content", {}).items()):
            yield f"**{code} response body** ({md.code(media)}): " + _body(
                content.get("schema", {}), components
            )


def _operation(path: str, method: str, op: Mapping[str, Any], doc: Mapping[str, Any]) -> str:
    components = doc.get("components", {}).get("schemas", {})
    schemes = doc.get("components", {}).get("securitySchemes", {})
    parts = [
        f"## `{method.upper()} {path}` {{ #{op['operationId']} }}\n",
        f"**{md.prose(op.get('summary', ''))}**\n",
    ]
    if op.get("description"):
        parts.append(md.prose(op["description"]) + "\n")
    parts.append(_auth(op, schemes))
    if _parameters(op):
        parts.append(_parameters(op))
    parts += list(_request(op, components))
    parts += list(_responses(op, components))
    return "\n".join(parts)


def _operations(doc: Mapping[str, Any]) -> list[tuple[str, str, Mapping[str, Any]]]:
    return [
        (path, method, item[method])
        for path, item in sorted(doc.get("paths", {}).items())
        for method in _METHODS
        if method in item
    ]


def render() -> str:
    """The whole page."""
    doc = openapi()
    info = doc.get("info", {})
    components = doc.get("components", {}).get("schemas", {})
    schemes = doc.get("components", {}).get("securitySchemes", {})
    ops = _operations(doc)
    out = [
        md.header(SOURCE, "HTTP API reference"),
        f"**{md.prose(info.get('title', ''))}**, API version {md.code(info.get('version', ''))}"
        f" (OpenAPI {md.code(doc.get('openapi', ''))}).\n",
        md.prose(info.get("description", "")) + "\n",
        "The raw OpenAPI document is [openapi.json](openapi.json); a running server also "
        "serves it at `/openapi.json` and an interactive view at `/docs`.\n",
        "## Authentication\n",
        md.table(
            ["Scheme", "Type", "Description"],
            [
                (
                    md.code(name),
                    md.cell(" ".join(str(s.get(k, "")) for k in ("type", "scheme")).strip()),
                    md.cell(s.get("description", "")),
                )
                for name, s in sorted(schemes.items())
            ],
        ),
        "## Endpoints\n",
        md.table(
            ["Method", "Path", "Summary"],
            [
                (
                    method.upper(),
                    f"[`{path}`](#{op['operationId']})",
                    md.cell(op.get("summary", "")),
                )
                for path, method, op in ops
            ],
        ),
    ]
    out += [_operation(path, method, op, doc) for path, method, op in ops]
    out.append("## Schemas\n")
    out.append("The objects the endpoints send and receive, by name.\n")
    for name, schema in sorted(components.items()):
        out.append(f"### {name} {{ #{_anchor(name)} }}\n")
        if schema.get("description"):
            out.append(md.prose(schema["description"]) + "\n")
        if schema.get("properties"):
            out.append(_fields(schema))
        else:
            out.append(f"Type: {schema_type(schema)}.\n")
        for example in schema.get("examples", []):
            out.append("Example:\n\n" + md.fence(json.dumps(example, indent=2), "json"))
    return "\n".join(out).rstrip("\n") + "\n"
