"""A quick yes for a step that passes its schema, so a valid step needs no jsonschema.

Importing jsonschema (attrs, referencing, the meta-schemas, a validator class per draft)
costs about 40 ms of CPU: most of what ``auterity-ai-step validate`` would add to a cold
start for a valid step. :func:`conforms` evaluates the small subset of JSON Schema 2020-12
that the step schema uses, with jsonschema's own semantics (its type checks, its
``enum`` equality, ``oneOf`` as exactly one). It answers True only when jsonschema would
find no error. Anything else, a keyword outside the subset or an invalid step, is None:
the caller runs jsonschema, which stays the one judge and the one source of error messages.
``tests/contract/test_schema_subset.py`` holds the two to the same answers.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

__all__ = ["conforms"]

# Keywords that only describe: jsonschema ignores them when validating.
_ANNOTATIONS = frozenset(
    {"$schema", "$id", "$defs", "$comment", "title", "description", "default", "examples"}
)
_CHECKED = frozenset(
    {
        "type",
        "enum",
        "properties",
        "additionalProperties",
        "required",
        "items",
        "minItems",
        "maxItems",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "oneOf",
        "if",
        "then",
        "else",
        "$ref",
    }
)


class _Unsure(Exception):
    """The schema uses something outside the subset: jsonschema must decide."""


def conforms(schema: Mapping[str, Any], instance: Any) -> bool | None:
    """True when ``instance`` is valid under ``schema`` (jsonschema would report no error);
    None when it may not be, or when the schema goes beyond the subset this module knows."""
    try:
        return True if _valid(schema, instance, schema) else None
    except Exception:  # _Unsure, or a surprise (a malformed schema): jsonschema decides
        return None


def _is_type(instance: Any, name: str) -> bool:
    """jsonschema's draft 2020-12 type checker."""
    if name == "object":
        return isinstance(instance, dict)
    if name == "array":
        return isinstance(instance, list)
    if name == "string":
        return isinstance(instance, str)
    if name == "boolean":
        return isinstance(instance, bool)
    if name == "null":
        return instance is None
    if isinstance(instance, bool):
        return False  # bool is an int in Python, never a number in JSON Schema
    if name == "number":
        return isinstance(instance, numbers.Number)
    if name == "integer":
        return isinstance(instance, int) or (isinstance(instance, float) and instance.is_integer())
    raise _Unsure(name)


def _in_enum(members: Any, instance: Any) -> bool:
    """jsonschema's ``enum`` equality, for members that are strings or numbers."""
    if not isinstance(members, list):
        raise _Unsure("enum")
    for member in members:
        if isinstance(member, str):
            if member == instance:
                return True
        elif isinstance(member, int | float) and not isinstance(member, bool):
            if not isinstance(instance, bool) and member == instance:
                return True
        else:
            raise _Unsure("enum")
    return False


def _resolve(ref: Any, root: Mapping[str, Any]) -> Any:
    """A ``#/a/b`` pointer into the root schema (plain names only)."""
    if not isinstance(ref, str) or not ref.startswith("#/") or "~" in ref or "%" in ref:
        raise _Unsure("$ref")
    target: Any = root
    for part in ref[2:].split("/"):
        if not isinstance(target, Mapping) or part not in target:
            raise _Unsure("$ref")
        target = target[part]
    return target


def _valid(schema: Any, instance: Any, root: Mapping[str, Any]) -> bool:
    if schema is True:
        return True
    if schema is False:
        return False
    if not isinstance(schema, Mapping):
        raise _Unsure("schema")
    if "$id" in schema and schema is not root:
        raise _Unsure("$id")  # a new base URI for $ref: leave it to jsonschema
    for keyword in schema:
        if keyword not in _CHECKED and keyword not in _ANNOTATIONS:
            raise _Unsure(keyword)
    return all(_keyword_holds(k, schema[k], schema, instance, root) for k in schema)


def _keyword_holds(
    keyword: str, value: Any, schema: Mapping[str, Any], instance: Any, root: Mapping[str, Any]
) -> bool:
    if keyword in _ANNOTATIONS or keyword in ("then", "else"):
        return True  # then/else are read with their "if"
    if keyword == "type":
        names = value if isinstance(value, list) else [value]
        return any(_is_type(instance, name) for name in names)
    if keyword == "enum":
        return _in_enum(value, instance)
    if keyword == "$ref":
        return _valid(_resolve(value, root), instance, root)
    if keyword == "if":
        branch = "then" if _valid(value, instance, root) else "else"
        return branch not in schema or _valid(schema[branch], instance, root)
    if keyword == "oneOf":
        if not isinstance(value, list):
            raise _Unsure(keyword)
        return sum(_valid(sub, instance, root) for sub in value) == 1
    if isinstance(instance, dict):
        return _object_keyword_holds(keyword, value, schema, instance, root)
    if isinstance(instance, list):
        if keyword == "items":  # no prefixItems: _valid let no unknown keyword through
            return all(_valid(value, item, root) for item in instance)
        if keyword == "minItems":
            return bool(len(instance) >= value)
        if keyword == "maxItems":
            return bool(len(instance) <= value)
        return True
    if isinstance(instance, str):
        if keyword == "minLength":
            return bool(len(instance) >= value)
        if keyword == "maxLength":
            return bool(len(instance) <= value)
        return True
    if _is_type(instance, "number"):  # jsonschema's comparisons, negated (NaN passes them)
        if keyword == "minimum":
            return not instance < value
        if keyword == "maximum":
            return not instance > value
        if keyword == "exclusiveMinimum":
            return not instance <= value
        if keyword == "exclusiveMaximum":
            return not instance >= value
    return True  # the keyword does not apply to this type of instance


def _object_keyword_holds(
    keyword: str, value: Any, schema: Mapping[str, Any], instance: dict[Any, Any], root: Any
) -> bool:
    if keyword == "properties":
        return all(_valid(sub, instance[k], root) for k, sub in value.items() if k in instance)
    if keyword == "required":
        return all(name in instance for name in value)
    if keyword == "additionalProperties":  # no patternProperties (see _valid)
        known = schema.get("properties", {})
        extras = [key for key in instance if key not in known]
        if isinstance(value, dict):
            return all(_valid(value, instance[key], root) for key in extras)
        return bool(value) or not extras
    return True
