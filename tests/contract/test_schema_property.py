"""Configs generated from the shipped schema are accepted and round-trip through to_data."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis_jsonschema import from_schema

from auterity_ai_step.contract.step import IGNORED_NODE_KEYS, base_schema, validate_step_config


def _generation_schema() -> dict[str, Any]:
    """The shipped schema plus the two rules the validator adds after jsonschema.

    ``fallback_models`` must not repeat a model (the shipped schema leaves ``uniqueItems``
    out so forms keep the order), and ``output_schema`` must itself be a JSON Schema (checked
    against the metaschema, which a generator cannot follow): both are narrowed here.
    """
    schema = base_schema()
    schema["properties"]["fallback_models"]["uniqueItems"] = True
    schema["properties"]["output_schema"] = {
        "type": "object",
        "properties": {
            "type": {"enum": ["object", "string", "integer", "array"]},
            "required": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        },
        "additionalProperties": False,
    }
    return schema


SCHEMA = _generation_schema()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=from_schema(SCHEMA))
def test_generated_configs_are_accepted_and_round_trip(data: dict[str, Any]) -> None:
    config = validate_step_config(data)
    assert config.legacy == ("config_version" not in data)
    again = validate_step_config(config.to_data())
    assert again == config
    assert again.to_data() == config.to_data()
    assert not IGNORED_NODE_KEYS & set(config.to_data())


@settings(max_examples=50, deadline=None)
@given(data=from_schema(SCHEMA).filter(lambda d: "config_version" in d))
def test_generated_v2_configs_name_exactly_one_source(data: dict[str, Any]) -> None:
    config = validate_step_config(data)
    given_sources = [config.prompt, config.template, config.messages]
    assert sum(source is not None for source in given_sources) == 1
