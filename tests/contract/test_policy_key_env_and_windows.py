"""Policy errors that must be exact: a key given where a variable NAME belongs, and one
invalid context_window reported once (not also as a missing max_output_tokens)."""

from __future__ import annotations

from typing import Any

import pytest

from auterity_ai_step.contract.policy import parse_policy
from auterity_ai_step.errors import PolicyError, looks_like_secret

HF_KEY = "hf_" + "AbCd1234" * 4


def _errors(model: dict[str, Any], overrides: dict[str, Any] | None = None) -> list[str]:
    data = {"models": {"x": model}, "routing_rules": {"default_model": "x"}}
    with pytest.raises(PolicyError) as info:
        parse_policy(data, overrides=overrides)
    return info.value.errors


def test_a_key_that_is_also_a_valid_name_is_refused_without_echo() -> None:
    model = {"provider": "huggingface", "context_window": 4096, "api_key_env": HF_KEY}
    errors = _errors(model)
    assert errors == [
        "models.x.api_key_env: looks like an API key, not the NAME of an environment variable; "
        "put the key in a variable (e.g. HUGGINGFACE_API_KEY) and name that"
    ]
    with pytest.raises(PolicyError) as info:
        parse_policy({"models": {"x": model}, "routing_rules": {"default_model": "x"}})
    assert HF_KEY not in str(info.value)


def test_the_suggested_variable_follows_the_provider() -> None:
    for provider, suggested in (("openai", "OPENAI_API_KEY"), ("my-llm", "MY_LLM_API_KEY")):
        model = {"provider": provider, "context_window": 10, "api_key_env": HF_KEY}
        (error,) = _errors(model)
        assert f"(e.g. {suggested})" in error and HF_KEY not in error


def test_a_key_in_an_override_is_refused_too() -> None:
    model = {"provider": "huggingface", "context_window": 4096}
    errors = _errors(model, overrides={"x": {"api_key_env": HF_KEY}})
    assert len(errors) == 1 and "looks like an API key" in errors[0]
    assert HF_KEY not in errors[0]


def test_real_variable_names_still_pass() -> None:
    for name in ("HUGGINGFACE_API_KEY", "HF_TOKEN", "hf_token", "MY_KEY_2"):
        assert not looks_like_secret(name)
        model = {"provider": "huggingface", "context_window": 4096, "api_key_env": name}
        data = {"models": {"x": model}, "routing_rules": {"default_model": "x"}}
        assert parse_policy(data).models["x"].api_key_env == name
    assert looks_like_secret(HF_KEY) and looks_like_secret("sk-" + "a" * 20)


@pytest.mark.parametrize(
    ("window", "error"),
    [
        ("big", "Input should be a valid integer, unable to parse string as an integer"),
        (0, "Input should be greater than or equal to 1"),
        (-5, "Input should be greater than or equal to 1"),
        (1.5, "Input should be a valid integer, got a number with a fractional part"),
        (None, "Input should be a valid integer"),
    ],
)
def test_an_invalid_context_window_is_the_only_error(window: Any, error: str) -> None:
    model = {"provider": "ollama", "input_cost_per_1k": 0, "context_window": window}
    assert _errors(model) == [f"models.x.context_window: {error}"]


def test_a_missing_context_window_is_the_only_error() -> None:
    assert _errors({"provider": "ollama", "input_cost_per_1k": 0}) == [
        "models.x.context_window: Field required"
    ]


def test_a_context_window_given_as_text_still_derives_max_output_tokens() -> None:
    for window, derived in (("8192", 4096), ("100", 100)):
        model = {"provider": "ollama", "input_cost_per_1k": 0, "context_window": window}
        data = {"models": {"x": model}, "routing_rules": {"default_model": "x"}}
        spec = parse_policy(data).models["x"]
        assert (spec.context_window, spec.max_output_tokens) == (int(window), derived)


def test_an_explicit_max_output_tokens_is_still_checked() -> None:
    model = {"provider": "ollama", "context_window": "big", "max_output_tokens": 0}
    assert _errors(model) == [
        "models.x.context_window: Input should be a valid integer, unable to parse string as "
        "an integer",
        "models.x.max_output_tokens: Input should be greater than or equal to 1",
    ]
