"""The model policy: both file formats, cross-checks, secrets, hot reload."""

from __future__ import annotations

import copy
import logging
import os
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from auterity_ai_step.contract import policy_format
from auterity_ai_step.contract.policy import (
    Policy,
    derive_quality,
    load_policy,
    parse_policy,
    read_policy_file,
)
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.errors import PolicyError
from auterity_ai_step.resources import bundled_policy_path

SEED = Path(__file__).parents[2] / "policies" / "examples" / "original_task.yml"


def seed() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SEED.read_text())
    return data


def errors_of(data: Any, **kw: Any) -> list[str]:
    with pytest.raises(PolicyError) as info:
        parse_policy(data, **kw)
    return info.value.errors


def test_seed_format_loads_unchanged() -> None:
    policy = load_policy(SEED)
    assert policy.model_names == ("gpt-3.5-turbo", "gpt-4", "llama2")
    gpt4 = policy.model("gpt-4")
    assert gpt4.input_cost_per_1k == gpt4.output_cost_per_1k == Decimal("0.03")
    assert gpt4.context_window == 8192 and gpt4.max_output_tokens == 4096
    assert gpt4.litellm_model == "openai/gpt-4" and gpt4.api_key_env == "OPENAI_API_KEY"
    llama = policy.model("llama2")
    assert llama.litellm_model == "ollama_chat/llama2"
    assert llama.api_base == "http://localhost:11434" and llama.api_key_env is None
    assert llama.quality == 3
    assert policy.routing.task_preferences["lead_qualification"] == ("gpt-4", "gpt-3.5-turbo")
    assert policy.cost_controls.daily_budget == Decimal("100.0")
    assert policy.cost_controls.alert_threshold == Decimal("80.0")
    assert policy.source == str(SEED)


def test_bundled_policy_covers_five_providers_and_tasks() -> None:
    policy = load_policy(bundled_policy_path())
    assert {m.provider for m in policy.models.values()} == {
        "openai",
        "anthropic",
        "ollama",
        "huggingface",
        "cohere",
    }
    assert all(m.input_cost_per_1k is not None for m in policy.models.values())
    assert all(m.output_cost_per_1k is not None for m in policy.models.values())
    assert policy.routing.default_model == "gpt-4o-mini"
    assert set(policy.routing.task_preferences) == {
        "customer_inquiry",
        "lead_qualification",
        "service_recommendation",
        "generic_processing",
    }
    last = policy.model(policy.routing.fallback_chain[-1])
    assert last.provider != policy.model(policy.routing.default_model).provider
    controls = policy.cost_controls
    assert (controls.daily_budget, controls.per_request_limit) == (Decimal(100), Decimal(1))
    assert policy.model("llama3.1").api_base == "http://localhost:11434"
    assert policy.model("llama3.1").health_timeout_s == 2.0


def test_default_path_is_env_or_bundled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTERITY_AI_POLICY", raising=False)
    assert load_policy().source == str(bundled_policy_path())
    monkeypatch.setenv("AUTERITY_AI_POLICY", str(SEED))
    assert load_policy().model_names == ("gpt-3.5-turbo", "gpt-4", "llama2")


def test_rich_form_flat_models_and_sections() -> None:
    data = {
        "models": {
            "fast": {
                "provider": "openai",
                "litellm_model": "openai/gpt-4o-mini",
                "input_cost_per_1k": 0.00015,
                "output_cost_per_1k": "0.0006",
                "context_window": 1000,
                "capabilities": ["json"],
                "endpoint": "http://proxy:4000",
                "health": {"timeout_s": 1.5, "slow_ms": 900},
            },
            "hf": {"provider": "huggingface", "context_window": 100, "max_output_tokens": 50},
            "other": {"provider": "acme", "context_window": 10, "api_key_env": "ACME_KEY"},
        },
        "routing_rules": {"default_model": "fast", "fallback_chain": ["fast", "hf"]},
        "cost_controls": {"timezone": "Europe/Berlin", "daily_budget": 5},
        "retry": {"max_attempts_per_model": 2, "fallback_on_content_refusal": True},
        "circuit": {"failure_threshold": 5, "cooldown_s": 1},
    }
    policy = parse_policy(data)
    fast = policy.model("fast")
    assert fast.input_cost_per_1k == Decimal("0.00015")
    assert fast.output_cost_per_1k == Decimal("0.0006")
    assert fast.api_base == "http://proxy:4000" and fast.max_output_tokens == 1000
    assert (fast.health_timeout_s, fast.slow_ms) == (1.5, 900.0)
    assert fast.capabilities == ("json",)
    hf = policy.model("hf")
    assert hf.litellm_model == "huggingface/hf" and hf.api_key_env == "HUGGINGFACE_API_KEY"
    assert hf.input_cost_per_1k is None and hf.quality == 5
    assert policy.model("other").litellm_model == "acme/other"
    assert policy.cost_controls.timezone == "Europe/Berlin"
    assert policy.retry.max_attempts_per_model == 2 and policy.retry.fallback_on_content_refusal
    assert policy.circuit.failure_threshold == 5
    assert policy.source == "<memory>"


def test_policy_is_frozen() -> None:
    policy = load_policy(SEED)
    with pytest.raises(ValueError, match="frozen"):
        policy.version = "x"  # type: ignore[misc]
    with pytest.raises(ValueError, match="frozen"):
        policy.model("gpt-4").quality = 1  # type: ignore[misc]


def test_unknown_model_lists_known_ones() -> None:
    with pytest.raises(PolicyError, match=r"unknown model 'gpt5' \(known: gpt-3.5-turbo, gpt-4"):
        load_policy(SEED).model("gpt5")


@pytest.mark.parametrize(
    ("inp", "out", "quality"),
    [
        (None, "1", 5),
        ("0", "0", 3),
        ("0.0001", "0.0001", 5),
        ("0.0005", "0.0015", 6),
        ("0.0025", "0.01", 7),
        ("0.01", "0.03", 8),
        ("0.03", "0.06", 9),
    ],
)
def test_derived_quality_tiers(inp: str | None, out: str, quality: int) -> None:
    assert derive_quality(None if inp is None else Decimal(inp), Decimal(out)) == quality


def test_version_is_content_hash() -> None:
    a = parse_policy(seed())
    b = parse_policy(seed(), source="elsewhere")
    changed = seed()
    changed["models"]["openai"]["gpt-4"]["cost_per_1k_tokens"] = 0.04
    assert a.version == b.version and len(a.version) == 12
    assert parse_policy(changed).version != a.version


def test_unknown_routing_names_are_listed() -> None:
    data = seed()
    data["routing_rules"]["default_model"] = "gpt5"
    data["routing_rules"]["fallback_chain"] = ["gpt-4", "claude"]
    data["routing_rules"]["task_preferences"]["customer_inquiry"] = ["x"]
    known = "(known: gpt-3.5-turbo, gpt-4, llama2)"
    assert errors_of(data) == [
        f"routing_rules.default_model: 'gpt5' is not a known model {known}",
        f"routing_rules.fallback_chain[1]: 'claude' is not a known model {known}",
        f"routing_rules.task_preferences.customer_inquiry[0]: 'x' is not a known model {known}",
    ]


def test_literal_api_key_refused_without_echoing_it() -> None:
    data = seed()
    data["models"]["openai"]["gpt-4"]["api_key"] = "sk-live-SECRET1234567890"
    data["models"]["ollama"]["llama2"]["health"] = {"Token": "hf_SECRETTOKEN999"}
    with pytest.raises(PolicyError) as info:
        parse_policy(data)
    text = str(info.value) + " ".join(info.value.errors)
    assert "SECRET" not in text
    assert info.value.errors[0] == (
        "models.openai.gpt-4.api_key: a literal API key is not allowed in the policy; put "
        "the key in an environment variable and name it with api_key_env "
        "(e.g. api_key_env: OPENAI_API_KEY)"
    )
    assert "models.ollama.llama2.health.Token: a literal API key" in info.value.errors[1]


def test_api_key_env_must_be_a_name_not_a_key() -> None:
    data = seed()
    data["models"]["openai"]["gpt-4"]["api_key_env"] = "sk-proj-abc123SECRET"
    errors = errors_of(data)
    assert errors == [
        "models.openai.gpt-4.api_key_env: must be the NAME of an environment variable "
        "(letters, digits, underscore), e.g. OPENAI_API_KEY, never the key itself"
    ]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda d: d["models"]["openai"]["gpt-4"].update(cost_per_1k_tokens=-0.01),
            "models.openai.gpt-4.input_cost_per_1k: must be >= 0 US dollars",
        ),
        (
            lambda d: d["models"]["openai"]["gpt-4"].update(cost_per_1k_tokens="cheap"),
            "models.openai.gpt-4.input_cost_per_1k: must be a number of US dollars, e.g. 0.002",
        ),
        (
            lambda d: d["models"]["openai"]["gpt-4"].update(cost_per_1k_tokens=True),
            "models.openai.gpt-4.input_cost_per_1k: must be a number of US dollars",
        ),
        (
            lambda d: d["models"]["openai"]["gpt-4"].update(cost_per_1k_tokens=[1]),
            "models.openai.gpt-4.input_cost_per_1k: must be a number of US dollars",
        ),
        (
            lambda d: d["cost_controls"].update(alert_threshold=120),
            "cost_controls.alert_threshold: must be a percentage of daily_budget between 0 "
            "and 100 (e.g. 80)",
        ),
        (
            lambda d: d["cost_controls"].update(alert_threshold="high"),
            "cost_controls.alert_threshold: must be a percentage",
        ),
        (
            lambda d: d["cost_controls"].update(alert_threshold=-1),
            "cost_controls.alert_threshold: must be a percentage",
        ),
        (
            lambda d: d["cost_controls"].update(daily_budget=-5),
            "cost_controls.daily_budget: must be >= 0 US dollars",
        ),
        (lambda d: d.update(extras=1), "extras: unknown top-level key (allowed: models, "),
        (
            lambda d: d["models"]["ollama"]["llama2"].update(colour="red"),
            "models.ollama.llama2.colour: unknown key (allowed: provider, litellm_model,",
        ),
        (
            lambda d: d["cost_controls"].update(budget=1),
            "cost_controls.budget: unknown key (allowed: daily_budget, per_request_limit,",
        ),
        (lambda d: d.update(retry={"tries": 1}), "retry.tries: unknown key (allowed: "),
        (
            lambda d: d.update(circuit={"failure_threshold": 0}),
            "circuit.failure_threshold: Input should be greater than or equal to 1",
        ),
        (lambda d: d.update(retry=[1]), "retry: must be a mapping"),
        (
            lambda d: d["models"]["openai"]["gpt-4"].update(quality=11),
            "models.openai.gpt-4.quality: Input should be less than or equal to 10",
        ),
        (
            lambda d: d["models"]["openai"]["gpt-4"].update(context_window=1),
            "models.openai.gpt-4.max_tokens: give context_window or max_tokens, not both",
        ),
        (
            lambda d: d["models"]["ollama"]["llama2"].update(api_base="http://x"),
            "models.ollama.llama2.endpoint: give api_base or its alias endpoint, not both",
        ),
        (
            lambda d: d["models"]["openai"]["gpt-4"].update(input_cost_per_1k=1),
            "models.openai.gpt-4.cost_per_1k_tokens: give it or input_cost_per_1k, not both",
        ),
        (
            lambda d: d["models"]["openai"]["gpt-4"].update(health={"retries": 1}),
            "models.openai.gpt-4.health.retries: unknown key (allowed: timeout_s, slow_ms)",
        ),
        (
            lambda d: d["models"]["openai"]["gpt-4"].update(health=5),
            "models.openai.gpt-4.health: must be a mapping with timeout_s and/or slow_ms",
        ),
        (lambda d: d.update(models={}), "models: must be a non-empty mapping"),
        (lambda d: d["models"].update(gpt5="big"), "models.gpt5: must be a mapping of model"),
        (
            lambda d: d["models"].update(solo={"context_window": 5}),
            "models.solo.provider: missing; name the provider (openai, anthropic, ...)",
        ),
        (
            lambda d: d["models"].update(anthropic={"gpt-4": {"context_window": 5}}),
            "models.anthropic.gpt-4: model name 'gpt-4' is defined twice",
        ),
        (
            lambda d: d.pop("routing_rules"),
            "routing_rules.default_model: missing; name the model to use by default",
        ),
        (
            lambda d: d["routing_rules"].pop("default_model"),
            "routing_rules.default_model: Field required",
        ),
    ],
)
def test_invalid_policies_name_path_and_fix(edit: Any, expected: str) -> None:
    data = seed()
    edit(data)
    errors = errors_of(data, source="p.yml")
    assert any(line.startswith(expected) for line in errors), errors
    with pytest.raises(PolicyError, match=r"^invalid model policy p\.yml: "):
        parse_policy(data, source="p.yml")


@pytest.mark.parametrize(
    ("models", "path"),
    [
        ({"openai": {"a": {"name": "b", "context_window": 100}}}, "models.openai.a.name"),
        ({"a": {"provider": "openai", "name": "b", "context_window": 100}}, "models.a.name"),
    ],
)
def test_a_model_entry_cannot_rename_its_model(models: dict[str, Any], path: str) -> None:
    document = {"models": models, "routing_rules": {"default_model": "a"}}
    assert errors_of(document) == [
        f"{path}: not allowed: a model's name is its key in models (rename the key instead)"
    ]
    entry = models["openai"]["a"] if "openai" in models else models["a"]
    del entry["name"]
    assert list(parse_policy(document).models) == ["a"]  # the key names the model


def test_overrides_cannot_rename_a_model() -> None:
    errors = errors_of(
        seed(),
        overrides={
            "gpt-4": {"name": "gpt-5", "context_window": 100},
            "new": {"provider": "openai", "name": "other", "context_window": 100},
        },
    )
    fix = "not allowed: a model's name is its key in the overrides (rename the key instead)"
    assert errors == [f"overrides.gpt-4.name: {fix}", f"overrides.new.name: {fix}"]


def test_unknown_model_key_lists_the_aliases_from_the_public_constants() -> None:
    data = seed()
    data["models"]["ollama"]["llama2"]["colour"] = "red"
    (line,) = errors_of(data)
    aliases = [group[0] for group in policy_format.MODEL_ALIASES] + [policy_format.HEALTH_KEY]
    assert line.endswith(f"; aliases: {', '.join(aliases)})")
    assert line.endswith("; aliases: cost_per_1k_tokens, max_tokens, endpoint, health)")


def test_top_level_must_be_a_mapping() -> None:
    with pytest.raises(PolicyError, match="the policy must be a mapping at the top level"):
        parse_policy([1], source="x")  # type: ignore[arg-type]


def test_overrides_replace_and_extend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTERITY_AI_ALLOWED_API_BASES", "http://a")
    monkeypatch.setenv("AUTERITY_AI_ALLOWED_KEY_ENVS", "ANTHROPIC_API_KEY")
    policy = parse_policy(
        seed(),
        overrides={
            "gpt-4": {
                "input_cost_per_1k": 0.01,
                "output_cost_per_1k": 0.02,
                "endpoint": "http://a",
            },
            "claude": {"provider": "anthropic", "context_window": 1000},
        },
    )
    gpt4 = policy.model("gpt-4")
    assert (gpt4.input_cost_per_1k, gpt4.output_cost_per_1k) == (Decimal("0.01"), Decimal("0.02"))
    assert gpt4.api_base == "http://a" and gpt4.context_window == 8192
    assert policy.model("claude").litellm_model == "anthropic/claude"
    assert policy.version != parse_policy(seed()).version


def test_invalid_overrides_are_refused() -> None:
    errors = errors_of(seed(), overrides={"new": {"context_window": 1}, "gpt-4": {"api_key": "k"}})
    assert "overrides.new.provider: missing; name the provider (openai, anthropic, ...)" in errors
    assert errors[0].startswith("overrides.gpt-4.api_key: a literal API key is not allowed")


# --- reading files ---------------------------------------------------------------------


def test_read_policy_file_errors(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"cannot read model policy .*missing\.yml"):
        read_policy_file(tmp_path / "missing.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("models: [unclosed\n")
    with pytest.raises(PolicyError, match="is not valid YAML"):
        read_policy_file(bad)
    key = "sk-proj-" + "Q" * 24  # built here so no key-like literal is committed
    bad.write_text(f"models:\n  api_key: {key}: oops\n")
    with pytest.raises(PolicyError, match="is not valid YAML") as caught:
        read_policy_file(bad)
    assert key not in str(caught.value)
    bad.write_text("- a list\n")
    with pytest.raises(PolicyError, match="must be a mapping at the top level"):
        read_policy_file(bad)


# --- PolicyStore -------------------------------------------------------------------------


def write(path: Path, data: dict[str, Any]) -> None:
    path.write_text(yaml.safe_dump(data))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yml"
    write(path, seed())
    return path


def test_store_reloads_changed_file(policy_file: Path) -> None:
    store = PolicyStore(policy_file, check_interval_s=0)
    first = store.current()
    assert store.current() is first  # unchanged file: same object, no re-parse
    data = seed()
    data["routing_rules"]["default_model"] = "gpt-4"
    write(policy_file, data)
    assert store.current().routing.default_model == "gpt-4"
    assert store.last_error is None and store.path == policy_file


def test_store_checks_at_most_every_interval(policy_file: Path) -> None:
    store = PolicyStore(policy_file, check_interval_s=3600)
    data = seed()
    data["routing_rules"]["default_model"] = "gpt-4"
    write(policy_file, data)
    assert store.current().routing.default_model == "gpt-3.5-turbo"
    assert store.reload().routing.default_model == "gpt-4"


def test_store_keeps_last_good_on_invalid_change(
    policy_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = PolicyStore(policy_file, check_interval_s=0)
    good = store.current()
    data = seed()
    data["routing_rules"]["default_model"] = "gpt5"
    data["models"]["openai"]["gpt-4"]["api_key"] = "sk-SECRETSECRET123"
    write(policy_file, data)
    with caplog.at_level(logging.WARNING, logger="auterity_ai_step.policy"):
        assert store.current() is good
        assert store.current() is good  # the same bad version is not re-parsed or re-logged
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert message.startswith(f"model policy change refused, keeping version {good.version}: ")
    assert "'gpt5' is not a known model" in message and "SECRET" not in message
    assert store.last_error is not None and "gpt5" in store.last_error
    write(policy_file, seed() | {"cost_controls": {"daily_budget": 7}})
    assert store.current().cost_controls.daily_budget == Decimal(7)
    assert store.last_error is None


def test_store_keeps_last_good_when_file_disappears(policy_file: Path) -> None:
    store = PolicyStore(policy_file, check_interval_s=0)
    good = store.current()
    policy_file.unlink()
    assert store.current() is good
    assert store.last_error is not None and "cannot read model policy" in store.last_error


def test_store_first_load_invalid_raises(tmp_path: Path) -> None:
    path = tmp_path / "p.yml"
    data = seed()
    data["cost_controls"]["alert_threshold"] = 101
    write(path, data)
    with pytest.raises(PolicyError, match="alert_threshold"):
        PolicyStore(path)


def test_store_uses_settings_path(monkeypatch: pytest.MonkeyPatch, policy_file: Path) -> None:
    monkeypatch.setenv("AUTERITY_AI_POLICY", str(policy_file))
    assert PolicyStore().path == policy_file


def test_store_overrides_token_drives_reparse(policy_file: Path) -> None:
    state: dict[str, Any] = {"token": "1", "configs": {}, "calls": 0}

    def overrides() -> tuple[str, dict[str, Any]]:
        state["calls"] += 1
        return state["token"], state["configs"]

    store = PolicyStore(policy_file, overrides=overrides, check_interval_s=0)
    first = store.current()
    state["configs"] = {"gpt-4": {"cost_per_1k_tokens": 0.05}}
    assert store.current() is first  # same token: configs not re-read into the policy
    state["token"] = "2"
    assert store.current().model("gpt-4").input_cost_per_1k == Decimal("0.05")
    state["token"], state["configs"] = "3", {"gpt-4": {"quality": 99}}
    assert store.current().model("gpt-4").input_cost_per_1k == Decimal("0.05")
    assert store.last_error is not None and "quality" in store.last_error
    assert state["calls"] >= 4


def test_store_survives_failing_overrides(policy_file: Path) -> None:
    calls = {"n": 0}

    def overrides() -> tuple[str, dict[str, Any]]:
        calls["n"] += 1
        if calls["n"] > 1:
            raise RuntimeError("database is down")
        return "1", {}

    store = PolicyStore(policy_file, overrides=overrides, check_interval_s=0)
    good = store.current()  # the first check after start fails: keep the policy
    assert store.current() is good
    assert store.last_error == "cannot read model configuration overrides: database is down"


def test_store_logs_each_override_failure_once(
    policy_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state: dict[str, Any] = {"error": None, "calls": 0}

    def overrides() -> tuple[str, dict[str, Any]]:
        state["calls"] += 1
        if state["error"] is not None:
            raise state["error"]
        return "1", {}

    store = PolicyStore(policy_file, overrides=overrides, check_interval_s=0, override_retry_s=0)
    good = store.current()
    state["error"] = RuntimeError("db://auterity:hunter2hunter2@db/ledger is down\ndetails")
    with caplog.at_level(logging.INFO, logger="auterity_ai_step.policy"):
        for _ in range(20):
            assert store.current() is good
        state["error"] = RuntimeError("db://auterity:hunter2hunter2@db/ledger: disk full")
        for _ in range(20):
            assert store.current() is good
        state["error"] = None
        assert store.current() is good
        assert store.current() is good
    assert state["calls"] == 2 + 20 + 20 + 2  # no back-off asked for: every check reads
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (
            logging.WARNING,
            f"cannot read model configuration overrides (keeping policy version "
            f"{good.version}): db://auterity:***@db/ledger is down",
        ),
        (
            logging.WARNING,
            f"cannot read model configuration overrides (keeping policy version "
            f"{good.version}): db://auterity:***@db/ledger: disk full",
        ),
        (
            logging.INFO,
            f"model configuration overrides can be read again (policy version {good.version})",
        ),
    ]
    assert store.last_error is None and store.overrides_error is None


def test_store_starts_without_overrides_and_backs_off(
    policy_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state: dict[str, Any] = {"down": True, "calls": 0}

    def overrides() -> tuple[str, dict[str, Any]]:
        state["calls"] += 1
        if state["down"]:
            raise RuntimeError("database is down")
        return "2", {"gpt-4": {"cost_per_1k_tokens": 0.05}}

    with caplog.at_level(logging.WARNING, logger="auterity_ai_step.policy"):
        store = PolicyStore(policy_file, overrides=overrides, check_interval_s=0)
        for _ in range(100):
            store.current()
    assert state["calls"] == 1  # the default 5 s back-off: no read at every check
    assert len(caplog.records) == 1
    assert (
        caplog.records[0]
        .getMessage()
        .startswith("cannot read model configuration overrides at start (using policy version ")
    )
    assert store.current().model("gpt-4").input_cost_per_1k != Decimal("0.05")
    state["down"] = False
    assert store.reload().model("gpt-4").input_cost_per_1k == Decimal("0.05")
    assert state["calls"] == 2 and store.last_error is None


def test_fixed_store_never_reloads() -> None:
    policy = load_policy(SEED)
    store = PolicyStore.fixed(policy)
    assert store.current() is policy and store.reload() is policy
    assert store.path is None and store.last_error is None


def test_store_is_thread_safe(policy_file: Path) -> None:
    store = PolicyStore(policy_file, check_interval_s=0)
    seen: list[Policy] = []
    variants = [copy.deepcopy(seed()) for _ in range(5)]
    for i, data in enumerate(variants):
        data["cost_controls"]["daily_budget"] = i + 1

    def reader() -> None:
        for _ in range(200):
            seen.append(store.current())

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    for data in variants:
        write(policy_file, data)
    for thread in threads:
        thread.join()
    assert all(isinstance(p, Policy) for p in seen)
    assert store.current().cost_controls.daily_budget == Decimal(5)


def test_cost_controls_must_be_a_mapping() -> None:
    data = seed()
    data["cost_controls"] = [100]
    assert errors_of(data) == ["cost_controls: must be a mapping"]


def test_override_replaces_a_broken_file_entry() -> None:
    data = seed()
    data["models"]["openai"]["gpt-4"] = "broken"
    fixed = parse_policy(data, overrides={"gpt-4": {"context_window": 100}})
    assert fixed.model("gpt-4").provider == "openai"


@pytest.mark.parametrize("path", sorted(SEED.parent.glob("*.yml")), ids=lambda p: p.name)
def test_every_example_policy_loads(path: Path) -> None:
    policy = load_policy(path)
    assert policy.routing.default_model in policy.model_names


def test_override_that_is_not_a_mapping_is_a_policy_error() -> None:
    from auterity_ai_step.contract.policy import load_policy, parse_policy
    from auterity_ai_step.core.policy_source import read_policy_file

    data = read_policy_file(load_policy().source)
    with pytest.raises(PolicyError) as info:
        parse_policy(data, overrides={"gpt-4o-mini": "cheap"})  # type: ignore[dict-item]
    assert "overrides.gpt-4o-mini: must be a mapping of model settings" in info.value.errors


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus", "utc", "Etc", "../etc/passwd", "/etc/localtime", ""]
)
def test_unknown_timezone_is_refused_when_the_policy_is_read(zone: str) -> None:
    data = seed()
    data["cost_controls"]["timezone"] = zone
    assert errors_of(data) == [
        f"cost_controls.timezone: unknown time zone {zone!r} "
        "(use an IANA name such as UTC or America/Chicago)"
    ]


def test_timezone_of_another_type_is_pydantics_error() -> None:
    data = seed()
    data["cost_controls"]["timezone"] = 5
    assert errors_of(data) == ["cost_controls.timezone: Input should be a valid string"]


@pytest.mark.parametrize("zone", ["UTC", "America/Chicago", "Asia/Kolkata", "Etc/GMT+5"])
def test_known_timezones_load(zone: str) -> None:
    data = seed()
    data["cost_controls"]["timezone"] = zone
    assert parse_policy(data).cost_controls.timezone == zone


def test_the_policy_is_read_with_libyaml_when_pyyaml_has_it() -> None:
    """A reload holds the interpreter for the parse: the C parser is about 9x faster."""
    from auterity_ai_step.contract import policy_file

    expected = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
    assert policy_file.YAML_LOADER is expected


def test_both_yaml_loaders_read_the_bundled_policy_alike() -> None:
    text = Path(bundled_policy_path()).read_text("utf-8")
    assert yaml.load(text, Loader=yaml.CSafeLoader) == yaml.safe_load(text)
