"""Hypothesis fuzzing: step configs, policy documents and input data.

The executor never raises and never leaves a budget reservation open; ``parse_policy``
either returns a Policy or raises ``PolicyError``, never anything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from auterity_ai_step import AIStepExecutor, WorkflowNode, load_policy
from auterity_ai_step.cli.demo import simulated_policy
from auterity_ai_step.contract.policy import parse_policy
from auterity_ai_step.contract.step import base_schema
from auterity_ai_step.core.engine import Engine
from auterity_ai_step.core.host import StepExecutionResult
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.errors import PolicyError
from auterity_ai_step.resources import bundled_policy_path
from auterity_ai_step.simulator.server import ModelBehaviour, Scenario, Simulator
from auterity_ai_step.store.ledger import Ledger

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
KEY = "sk-test-fuzz-0123456789abcdefghijklmnop"

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
keys = st.sampled_from(
    [
        "config_version",
        "prompt",
        "template",
        "messages",
        "model",
        "fallback_models",
        "cost_limit",
        "max_tokens",
        "temperature",
        "timeout_s",
        "response_format",
        "output_schema",
        "task_type",
        "system",
        "template_variables",
        "cost_preference",
    ]
) | st.text(max_size=15)
arbitrary_configs = st.dictionaries(keys, json_values, max_size=8)


class Rig:
    """A long-lived loop, simulator (in a thread) and executor shared by the examples."""

    def __init__(self, tmp: Path) -> None:
        scenario = Scenario(
            models={"gpt-4o-mini": ModelBehaviour(outcomes=("ok", 500, "ok", "malformed"))},
            default=ModelBehaviour(outcomes=("ok", 429, "ok")),
            seed=7,
        )
        self.sim = Simulator(scenario)
        base_url, self._stop = self.sim.run_in_thread()
        self.loop = asyncio.new_event_loop()
        self.ledger = Ledger(f"sqlite:///{tmp / 'fuzz.db'}")
        policy = simulated_policy(load_policy(), base_url)
        self.engine = Engine(PolicyStore.fixed(policy), self.ledger, sleep=self._no_wait)
        self.executor = AIStepExecutor(engine=self.engine)
        self.day = self.engine.guard.today()

    @staticmethod
    async def _no_wait(seconds: float) -> None:
        return None

    def run(self, data: Any, input_data: Any) -> StepExecutionResult:
        node = WorkflowNode(id="fuzz", type="ai", data=data)
        coro = asyncio.wait_for(self.executor.execute_step(node, input_data), 60)
        return self.loop.run_until_complete(coro)

    def reserved(self, day: date) -> Any:
        return self.ledger.day_status(day)[1]

    def close(self) -> None:
        self.ledger.close()
        self.loop.close()
        self._stop()


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    mp = pytest.MonkeyPatch()
    mp.setenv("OPENAI_API_KEY", KEY)
    rig = Rig(tmp_path_factory.mktemp("fuzz"))
    try:
        yield rig
    finally:
        rig.close()
        mp.undo()


def _check(rig: Rig, result: Any) -> None:
    assert isinstance(result, StepExecutionResult)
    assert result.success or result.error_message
    assert KEY not in repr(result)
    assert rig.reserved(rig.day) == 0, "a budget reservation was left open"


@FUZZ
@given(
    data=from_schema(base_schema()),
    input_data=st.dictionaries(st.text(max_size=10), json_values, max_size=5),
)
def test_schema_generated_configs_never_raise(
    rig: Rig, data: dict[str, Any], input_data: dict[str, Any]
) -> None:
    _check(rig, rig.run(data, input_data))


@FUZZ
@given(
    data=arbitrary_configs,
    input_data=st.dictionaries(st.text(max_size=10), json_values) | json_values,
)
def test_arbitrary_configs_and_inputs_never_raise(rig: Rig, data: Any, input_data: Any) -> None:
    _check(rig, rig.run(data, input_data))


@FUZZ
@given(
    prompt=st.text(max_size=80)
    | st.sampled_from(
        [
            "{{ x }}",
            "{{ x.y.z }}",
            "{{ x|length }}",
            "{% for i in x %}{{ i }}{% endfor %}",
            "{x}",
            "{0}",
            "{{ x * 3 }}",
        ]
    ),
    input_data=st.dictionaries(
        st.sampled_from(["x", "y", "execution_id"]), json_values, max_size=3
    ),
    legacy=st.booleans(),
)
def test_prompt_and_input_data_never_raise(
    rig: Rig, prompt: str, input_data: dict[str, Any], legacy: bool
) -> None:
    data: dict[str, Any] = {"prompt": prompt, "max_tokens": 20}
    if not legacy:
        data["config_version"] = 2
    _check(rig, rig.run(data, input_data))


def _mutations() -> st.SearchStrategy[tuple[list[str], Any]]:
    paths = st.sampled_from(
        [
            [],
            ["models"],
            ["models", "openai"],
            ["models", "openai", "gpt-4o-mini"],
            ["models", "openai", "gpt-4o-mini", "input_cost_per_1k"],
            ["models", "openai", "gpt-4o-mini", "context_window"],
            ["models", "ollama", "llama3.1", "health"],
            ["routing_rules"],
            ["routing_rules", "default_model"],
            ["routing_rules", "fallback_chain"],
            ["routing_rules", "task_preferences"],
            ["cost_controls"],
            ["cost_controls", "daily_budget"],
            ["cost_controls", "timezone"],
            ["retry"],
            ["retry", "max_attempts_per_model"],
            ["circuit", "cooldown_s"],
            ["new_key"],
        ]
    )
    return st.tuples(paths, json_values)


BASE_POLICY = yaml.safe_load(bundled_policy_path().read_text("utf-8"))


def _mutate(doc: Any, path: list[str], value: Any) -> Any:
    if not path:
        return value
    out = copy.deepcopy(doc)
    node = out
    for key in path[:-1]:
        if not isinstance(node, dict):
            return out
        node = node.setdefault(key, {})
    if isinstance(node, dict):
        node[path[-1]] = value
    return out


@FUZZ
@given(mutations=st.lists(_mutations(), min_size=1, max_size=3))
def test_mutated_policies_parse_or_raise_policy_error(
    mutations: list[tuple[list[str], Any]],
) -> None:
    doc: Any = BASE_POLICY
    for path, value in mutations:
        doc = _mutate(doc, path, value)
    try:
        policy = parse_policy(doc)
    except PolicyError as exc:
        assert str(exc)
    else:
        assert policy.routing.default_model in policy.models


overrides_maps = st.dictionaries(
    st.sampled_from(["gpt-4o-mini", "llama3.1", "new-model"]) | st.text(max_size=10),
    st.dictionaries(keys | st.sampled_from(["provider", "litellm_model", "quality"]), json_values),
    max_size=3,
)


@FUZZ
@given(doc=st.dictionaries(st.text(max_size=15), json_values, max_size=6), overrides=overrides_maps)
def test_arbitrary_policy_documents_raise_only_policy_error(doc: Any, overrides: Any) -> None:
    with contextlib.suppress(PolicyError):
        parse_policy(doc, overrides=overrides)


@FUZZ
@given(overrides=overrides_maps)
def test_arbitrary_overrides_of_the_bundled_policy(overrides: Any) -> None:
    with contextlib.suppress(PolicyError):
        policy = parse_policy(BASE_POLICY, overrides=overrides)
        assert policy.routing.default_model in policy.models
