"""The step schema and StepConfig: legacy nodes, new steps, every error with its message."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from auterity_ai_step.contract.policy import Policy, load_policy
from auterity_ai_step.contract.step import (
    ChatMessage,
    StepConfig,
    base_schema,
    step_schema,
    validate_step_config,
)
from auterity_ai_step.errors import StepConfigError
from auterity_ai_step.resources import bundled_policy_path, schema_text

SCHEMA_FILE = Path(__file__).parents[2] / "schemas" / "ai_step.schema.json"


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(bundled_policy_path())


def errors_of(data: Any, policy: Policy | None = None) -> list[str]:
    with pytest.raises(StepConfigError) as info:
        validate_step_config(data, policy)
    return info.value.errors


def test_schema_is_2020_12_and_documents_every_property() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    assert schema_text() == SCHEMA_FILE.read_text()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "x-" not in SCHEMA_FILE.read_text()

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for name, prop in node.get("properties", {}).items():
                if "$ref" not in prop:
                    missing = {"title", "description", "default", "examples", "type"} - set(prop)
                    assert not missing, f"{path}.{name} lacks {missing}"
            for key, value in node.items():
                if key not in ("default", "examples"):
                    walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for item in node:
                walk(item, path)

    walk(schema, "")
    fallback = schema["properties"]["fallback_models"]
    assert fallback["type"] == "array" and "uniqueItems" not in fallback
    assert fallback["items"]["type"] == "string"


def test_schema_defaults_are_accepted_together() -> None:
    """A builder form fills every default: that must still be a valid step."""
    props = base_schema()["properties"]
    defaults = {name: prop["default"] for name, prop in props.items()}
    config = validate_step_config(defaults | {"template": "customer_inquiry"})
    assert config.template == "customer_inquiry" and config.prompt is None
    assert config.messages is None and config.model is None and config.system is None


def test_legacy_node_is_marked_and_kept_as_is() -> None:
    node = {"label": "Summarise", "prompt": "Hi {name}", "model": "gpt-3.5-turbo", "system": ""}
    config = validate_step_config(node)
    assert config.legacy and config.config_version is None
    assert config.prompt == "Hi {name}" and config.system == ""
    assert config.to_data() == {"prompt": "Hi {name}", "model": "gpt-3.5-turbo", "system": ""}
    assert validate_step_config({}).legacy
    legacy_both = validate_step_config({"prompt": "a", "template": "lead_qualification"})
    assert legacy_both.prompt == "a" and legacy_both.template == "lead_qualification"


def test_new_step_fields_are_typed(policy: Policy) -> None:
    data = {
        "config_version": 2,
        "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "{{ x }}"}],
        "template_variables": {"x": 1},
        "model": "gpt-4o",
        "fallback_models": ["claude-haiku-4-5", "gpt-4o-mini"],
        "cost_limit": 0.1,
        "task_type": "customer_inquiry",
        "cost_preference": "cheapest",
        "temperature": 0,
        "max_tokens": 100,
        "timeout_s": 12.5,
        "response_format": "json",
        "output_schema": {"type": "object"},
        "label": "ignored",
        "icon": "ignored",
    }
    config = validate_step_config(data, policy)
    assert not config.legacy and config.config_version == 2
    assert config.messages == (
        ChatMessage(role="system", content="s"),
        ChatMessage(role="user", content="{{ x }}"),
    )
    assert config.cost_limit == Decimal("0.1") and config.fallback_models[0] == "claude-haiku-4-5"
    assert (config.temperature, config.max_tokens, config.timeout_s) == (0.0, 100, 12.5)
    assert config.response_format == "json" and config.output_schema == {"type": "object"}
    expected = {k: v for k, v in data.items() if k not in ("label", "icon")}
    assert config.to_data() == expected
    assert validate_step_config(config.to_data(), policy) == config
    with pytest.raises(ValueError, match="frozen"):
        config.model = "x"  # type: ignore[misc]


def test_empty_values_mean_not_given_in_new_steps() -> None:
    config = validate_step_config(
        {"config_version": 2, "prompt": "", "template": "t", "messages": [], "model": "auto"}
    )
    assert config.prompt is None and config.messages is None and config.model is None
    assert config.to_data() == {"config_version": 2, "template": "t"}


def test_cost_limit_is_exact_decimal() -> None:
    assert validate_step_config({"cost_limit": 0.3}).cost_limit == Decimal("0.3")
    config = validate_step_config({"cost_limit": 2})
    assert config.cost_limit == Decimal(2) and config.to_data() == {"cost_limit": 2}
    assert isinstance(config.to_data()["cost_limit"], int)


def test_validation_is_cached_per_config_and_policy(policy: Policy) -> None:
    data = {"config_version": 2, "prompt": "x", "model": "gpt-4o"}
    assert validate_step_config(data, policy) is validate_step_config(dict(data), policy)
    assert validate_step_config(data) is not validate_step_config(data, policy)


def test_non_json_values_are_validated_without_cache() -> None:
    assert validate_step_config({"template_variables": {"when": object()}}).legacy
    assert errors_of({"temperature": float("nan")}) == [
        "temperature: must be a finite number (got nan)"
    ]
    assert errors_of({"cost_limit": float("inf")}) == [
        "cost_limit: must be a finite number (got inf)"
    ]


def test_step_schema_lists_policy_models(policy: Policy) -> None:
    schema = step_schema(policy)
    names = list(policy.model_names)
    assert schema["properties"]["model"]["enum"] == [*names, "auto"]
    assert schema["properties"]["fallback_models"]["items"]["enum"] == names
    assert "uniqueItems" not in schema["properties"]["fallback_models"]
    assert "enum" not in step_schema()["properties"]["model"]
    assert "enum" not in base_schema()["properties"]["model"]  # copies, not the cached one
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"config_version": 2, "prompt": "a", "template": "b"},
            "<step>: a config_version 2 step needs exactly one of prompt, template or "
            "messages (found: prompt, template)",
        ),
        (
            {"config_version": 2},
            "<step>: a config_version 2 step needs exactly one of prompt, template or "
            "messages (found: none)",
        ),
        ({"config_version": 1}, "config_version: 1 is not one of 2"),
        ({"colour": "red"}, "colour: unknown key; did you mean color? Rename it"),
        ({"zzz": "red"}, "zzz: unknown key; remove it"),
        ({"zzz": "red"}, "<step>: allowed keys: config_version, prompt, template, messages,"),
        ({"temperature": 2.5}, "temperature: must be <= 2 (got 2.5)"),
        ({"temperature": -1}, "temperature: must be >= 0 (got -1)"),
        ({"cost_limit": -0.01}, "cost_limit: must be >= 0 (got -0.01)"),
        ({"max_tokens": 0}, "max_tokens: must be >= 1 (got 0)"),
        ({"max_tokens": 1.5}, "max_tokens: must be of type integer (got float)"),
        ({"timeout_s": 0}, "timeout_s: must be > 0 (got 0)"),
        ({"timeout_s": 601}, "timeout_s: must be <= 600 (got 601)"),
        (
            {"cost_preference": "fast"},
            "cost_preference: 'fast' is not one of cheapest, balanced, quality",
        ),
        ({"response_format": "xml"}, "response_format: 'xml' is not one of text, json"),
        ({"model": ""}, "model: must be at least 1 character(s) long"),
        ({"task_type": "x" * 201}, "task_type: must be at most 200 characters long"),
        ({"fallback_models": ["a"] * 21}, "fallback_models: must have at most 20 items"),
        ({"fallback_models": ["ok", 3]}, "fallback_models[1]: must be of type string (got int)"),
        (
            {"messages": [{"role": "bot", "content": "x"}]},
            "messages[0].role: 'bot' is not one of system, user, assistant",
        ),
        ({"messages": [{"role": "user"}]}, "messages[0]: 'content' is required"),
        (
            {"messages": [{"role": "user", "content": "x", "name": "n"}]},
            "messages[0].name: unknown key; remove it",
        ),
        (
            {"messages": [{"role": "user", "content": "x", "name": "n"}]},
            "messages[0]: allowed keys: role, content",
        ),
        ({"template_variables": []}, "template_variables: must be of type object (got list)"),
        (
            {"fallback_models": ["gpt-4o", "gpt-4o-mini", "gpt-4o"]},
            "fallback_models[2]: 'gpt-4o' repeats fallback_models[0]; each fallback model may "
            "appear once",
        ),
        (
            {"output_schema": {"type": "banana"}},
            "output_schema.type: not a valid JSON Schema (",
        ),
        ("prompt", "<step>: must be an object (got str)"),
    ],
)
def test_invalid_steps_name_path_rule_and_allowed_values(data: Any, expected: str) -> None:
    errors = errors_of(data)
    assert any(line.startswith(expected) for line in errors), errors


def test_all_errors_are_collected() -> None:
    errors = errors_of({"config_version": 2, "prompt": "x", "temperature": 9, "max_tokens": 0})
    assert errors == ["max_tokens: must be >= 1 (got 0)", "temperature: must be <= 2 (got 9)"]
    with pytest.raises(StepConfigError, match=r"^invalid AI step config: max_tokens: "):
        validate_step_config({"max_tokens": 0, "temperature": 9})


def test_long_values_are_shortened_in_messages() -> None:
    (line,) = errors_of({"response_format": "x" * 500})
    assert len(line) < 120 and line.endswith("... is not one of text, json")


def test_models_must_be_known_to_the_policy(policy: Policy) -> None:
    known = ", ".join(policy.model_names)
    errors = errors_of(
        {
            "config_version": 2,
            "prompt": "x",
            "model": "gpt5",
            "fallback_models": ["gpt-4o", "gpt5"],
        },
        policy,
    )
    assert errors == [
        f"fallback_models[1]: 'gpt5' is not a known model (known: {known})",
        f"model: 'gpt5' is not a known model (known: {known}, auto)",
    ]
    assert validate_step_config({"model": "auto"}, policy).model is None
    assert validate_step_config({"model": "gpt5"}).model == "gpt5"  # no policy, no name check


def test_step_config_defaults() -> None:
    config = StepConfig()
    assert config.legacy and config.cost_preference == "balanced" and config.temperature == 0.7
    assert config.to_data() == {}


def test_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from auterity_ai_step.contract import step as step_module

    monkeypatch.setattr(step_module, "_CACHE_SIZE", 2)
    monkeypatch.setattr(step_module, "_CACHE", {})
    for i in range(5):
        validate_step_config({"prompt": str(i)})
    assert 1 <= len(step_module._CACHE) <= 2


def test_schema_errors_and_unknown_models_are_reported_together() -> None:
    data = {
        "config_version": 2,
        "prompt": "x",
        "model": "gpt5",
        "fallback_models": ["gpt-4o", "nope", 7],
        "temperature": 3,
    }
    with pytest.raises(StepConfigError) as info:
        validate_step_config(data, load_policy())
    errors = info.value.errors
    assert "temperature: must be <= 2 (got 3)" in errors
    assert any(
        e.startswith("model: 'gpt5' is not a known model (known: gpt-4o-mini") for e in errors
    )
    assert any(e.startswith("fallback_models[1]: 'nope' is not a known model") for e in errors)
    assert any(e.startswith("fallback_models[2]:") for e in errors)  # 7 is not a string


def test_schema_errors_do_not_hide_the_other_checks() -> None:
    errors = errors_of(
        {"config_version": 2, "prompt": "x", "temperature": 3, "fallback_models": ["a", "a"]}
    )
    assert errors == [
        "fallback_models[1]: 'a' repeats fallback_models[0]; each fallback model may appear once",
        "temperature: must be <= 2 (got 3)",
    ]
