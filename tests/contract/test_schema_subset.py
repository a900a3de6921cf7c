"""The quick check of ``contract/schema_subset.py`` agrees with jsonschema: it passes a step
exactly when jsonschema finds no error (so the fast path changes no answer), and it leaves
every schema outside its subset to jsonschema."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator

from auterity_ai_step.contract.schema_subset import conforms
from auterity_ai_step.contract.step import base_schema

SCHEMA = base_schema()
JUDGE = Draft202012Validator(SCHEMA)
KEYS = [*SCHEMA["properties"], "promt", "extra"]

# Values near every limit and type edge of the step schema: bool against integer/number,
# 2.0 against config_version's enum [2], lengths around 1 and 200, bounds of temperature,
# max_tokens and timeout_s, NaN.
EDGES = st.sampled_from(
    [
        None,
        True,
        False,
        0,
        1,
        2,
        2.0,
        2.5,
        -1,
        -0.0,
        0.0,
        1e-9,
        600,
        600.5,
        1_000_000,
        1_000_001,
        float("nan"),
        "",
        "x",
        "x" * 200,
        "x" * 201,
        "gpt-4o-mini",
        "balanced",
        "json",
        "system",
        [],
        {},
    ]
)
MESSAGES = st.lists(
    st.dictionaries(
        st.sampled_from(["role", "content", "name"]),
        st.one_of(st.sampled_from(["user", "system", "assistant", "robot", ""]), EDGES),
    ),
    max_size=3,
)
VALUES = st.one_of(EDGES, MESSAGES, st.lists(EDGES, max_size=3), st.text(max_size=5))


def _mutated(valid: dict[str, Any], changes: dict[str, Any], dropped: list[str]) -> Any:
    out = {k: v for k, v in valid.items() if k not in dropped}
    out.update(changes)
    return out


# hypothesis-jsonschema rewrites the schema it is given: it gets copies.
STEPS = st.one_of(
    from_schema(base_schema()),
    st.builds(
        _mutated,
        from_schema(base_schema()),
        st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=2),
        st.lists(st.sampled_from(KEYS), max_size=2),
    ),
    st.builds(
        _mutated,
        from_schema(base_schema()),
        st.dictionaries(st.sampled_from(KEYS), EDGES, min_size=1, max_size=1),
        st.just([]),
    ),
    st.builds(  # a version-2 step with one, two or three sources
        dict,
        config_version=st.just(2),
        prompt=EDGES,
        template=st.sampled_from(["t", ""]),
        messages=st.sampled_from([[], [{"role": "user", "content": "x"}]]),
    ),
    st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=6),
    VALUES,
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(step=STEPS)
def test_the_quick_check_passes_a_step_exactly_when_jsonschema_does(step: Any) -> None:
    assert (conforms(SCHEMA, step) is True) == JUDGE.is_valid(step)


def test_a_valid_example_needs_no_jsonschema() -> None:
    step = {
        "config_version": 2,
        "prompt": "Reply to {{ inquiry }}",
        "model": "gpt-4o-mini",
        "fallback_models": ["claude-haiku-4-5"],
    }
    assert conforms(SCHEMA, step) is True
    assert conforms(SCHEMA, {**step, "temperature": True}) is None  # bool is no number
    assert conforms(SCHEMA, {**step, "config_version": 2.0}) is True  # 2.0 equals 2 there
    assert conforms(SCHEMA, {**step, "template": "t"}) is None  # oneOf: two sources


SUBSET_CASES: list[tuple[dict[str, Any], list[Any]]] = [
    ({"type": ["integer", "null"]}, [1, 1.0, 1.5, None, True, "1"]),
    ({"enum": [0, 1, "a"]}, [0, 0.0, False, 1, True, "a", "b", [0]]),
    ({"type": "array", "items": False}, [[], [1]]),
    ({"type": "array", "items": True, "minItems": 1, "maxItems": 2}, [[], [1], [1, 2, 3]]),
    (
        {"properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "integer"}},
        [{"a": "x", "b": 1}, {"a": "x", "b": "y"}, {"b": 2.0}, []],
    ),
    ({"exclusiveMaximum": 1, "minimum": 0}, [0, 1, 0.999, -1, "x", float("nan")]),
    (
        {"if": {"required": ["a"]}, "else": {"required": ["b"]}},
        [{"a": 1}, {"b": 1}, {}, "not an object"],
    ),
    (
        {"$defs": {"s": {"type": "string"}}, "items": {"$ref": "#/$defs/s"}},
        [["x"], [1], "x"],
    ),
    ({"oneOf": [{"type": "integer"}, {"type": "number"}]}, [1, 1.5, "x"]),
    (False, [None, 1]),
]


def _near(prop: dict[str, Any]) -> list[Any]:
    """Values at and just past each limit of one property, and one of every other type."""
    out: list[Any] = [None, True, 1, 1.5, "x", [], {}]
    for bound in ("minimum", "maximum", "exclusiveMinimum"):
        if bound in prop:
            out += [prop[bound] - 1, prop[bound], prop[bound] + 0.5, prop[bound] + 1]
    for bound in ("minLength", "maxLength"):
        if bound in prop:
            out += ["x" * max(prop[bound] + d, 0) for d in (-1, 0, 1)]
    for bound in ("minItems", "maxItems"):
        if bound in prop:
            item = "m" if prop.get("items", {}).get("type") == "string" else MESSAGE
            out += [[item] * max(prop[bound] + d, 0) for d in (-1, 0, 1)]
    for member in prop.get("enum", ()):
        out += [member, float(member) if isinstance(member, int) else member + "!"]
    return out


MESSAGE = {"role": "user", "content": "x"}
EXAMPLE = {"config_version": 2, "prompt": "Reply to {{ inquiry }}", "model": "gpt-4o-mini"}
NEAR_LIMITS = [
    (key, value) for key, prop in SCHEMA["properties"].items() for value in _near(prop)
] + [
    ("messages", [{**MESSAGE, key: value}])
    for key, prop in SCHEMA["$defs"]["message"]["properties"].items()
    for value in _near(prop)
]


def test_each_limit_of_the_schema_reads_as_jsonschema_reads_it() -> None:
    """Every property of a valid step set, one at a time, at and past each of its limits."""
    for key, value in NEAR_LIMITS:
        step = {**EXAMPLE, key: value}
        if key == "messages":
            del step["prompt"]
        assert (conforms(SCHEMA, step) is True) == JUDGE.is_valid(step), (key, value)


@pytest.mark.parametrize(("schema", "instances"), SUBSET_CASES)
def test_every_keyword_of_the_subset_reads_as_jsonschema_reads_it(
    schema: Any, instances: list[Any]
) -> None:
    judge = Draft202012Validator(schema)
    for instance in instances:
        assert (conforms(schema, instance) is True) == judge.is_valid(instance), instance


@pytest.mark.parametrize(
    ("schema", "instance"),
    [
        ({"type": "string", "pattern": "^x$"}, "x"),
        ({"const": "x"}, "x"),
        ({"type": "array", "prefixItems": [{"type": "string"}]}, ["x"]),
        ({"patternProperties": {"^x": {"type": "string"}}, "additionalProperties": False}, {}),
        ({"items": {"$id": "https://elsewhere.example/s", "type": "string"}}, ["x"]),
        ({"$defs": {"a/b": {"type": "string"}}, "items": {"$ref": "#/$defs/a~1b"}}, ["x"]),
        ({"type": "string", "format": "email"}, "x"),
        ({"enum": [True]}, True),
    ],
)
def test_a_schema_beyond_the_subset_is_left_to_jsonschema(schema: Any, instance: Any) -> None:
    """Valid instances all: None here means "ask jsonschema", not "invalid"."""
    assert Draft202012Validator(schema).is_valid(instance)
    assert conforms(schema, instance) is None
