"""The back-compatible AIService, through the real engine and the loopback simulator."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from auterity_ai_step import (
    DEFAULT_TEMPLATES,
    AIModelType,
    AIResponse,
    AIService,
    AIServiceError,
    PromptTemplate,
    execution_context,
    get_ai_service,
    load_policy,
    set_ai_service,
)
from auterity_ai_step.cli.demo import simulated_policy
from auterity_ai_step.contract.templates import DEFAULT_SYSTEM_PROMPT
from auterity_ai_step.core.engine import Engine
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.simulator.server import ModelBehaviour, Scenario, Simulator
from auterity_ai_step.store.ledger import Ledger


class Setup:
    def __init__(self, sim: Simulator, ledger: Ledger, service: AIService) -> None:
        self.sim, self.ledger, self.service = sim, ledger, service


@pytest.fixture
async def setup(sqlite_url: str) -> AsyncIterator[Setup]:
    sleeps: list[float] = []

    async def no_wait(seconds: float) -> None:
        sleeps.append(seconds)

    async with Simulator(Scenario()) as sim:
        ledger = Ledger(sqlite_url)
        store = PolicyStore.fixed(simulated_policy(load_policy(), sim.base_url))
        service = AIService(engine=Engine(store, ledger, sleep=no_wait), max_retries=2)
        yield Setup(sim, ledger, service)
        ledger.close()


def _bodies(sim: Simulator) -> list[dict[str, Any]]:
    return [r.body for r in sim.requests]


async def test_default_system_prompt_is_todays() -> None:
    assert DEFAULT_SYSTEM_PROMPT == (
        "You are a helpful AI assistant for automotive dealership workflows."
    )


async def test_process_text_keeps_todays_message_order(setup: Setup) -> None:
    response = await setup.service.process_text(
        "Hello", context={"vin": "123"}, model=AIModelType.GPT_3_5_TURBO
    )
    assert isinstance(response, AIResponse)
    assert response.is_success
    assert response.model == "gpt-3.5-turbo"
    assert response.usage is not None and response.usage["total_tokens"] > 0
    messages = _bodies(setup.sim)[0]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "system"]
    assert (
        messages[0]["content"]
        == "You are a helpful AI assistant for automotive dealership workflows."
    )
    assert messages[1]["content"] == "Hello"
    assert messages[2]["content"] == "Additional context: " + json.dumps({"vin": "123"}, indent=2)


async def test_plain_string_model_works(setup: Setup) -> None:
    response = await setup.service.process_text("Hi", model="claude-haiku-4-5")
    assert response.is_success
    assert response.model == "claude-haiku-4-5"
    assert setup.sim.count("claude-haiku-4-5") == 1


async def test_make_api_call_makes_max_retries_plus_one_attempts(setup: Setup) -> None:
    setup.sim.scenario.default = ModelBehaviour(outcomes=(500,))
    response = await setup.service._make_api_call([{"role": "user", "content": "x"}], "gpt-4o-mini")
    assert not response.is_success
    assert response.error is not None
    per_model = setup.sim.count("gpt-4o-mini")
    assert per_model == 3  # max_retries=2 → 3 attempts on the model itself
    assert f"failed after {setup.sim.count()} attempts" in response.error


async def test_process_with_template_and_errors(setup: Setup) -> None:
    response = await setup.service.process_with_template(
        "lead_qualification", {"customer_info": "budget 30k"}
    )
    assert response.is_success
    prompt = _bodies(setup.sim)[0]["messages"][1]["content"]
    assert prompt == DEFAULT_TEMPLATES["lead_qualification"].format(customer_info="budget 30k")
    with pytest.raises(AIServiceError, match="Template 'nope' not found"):
        await setup.service.process_with_template("nope", {})
    with pytest.raises(AIServiceError, match=r"Missing required variables: \['customer_info'\]"):
        await setup.service.process_with_template("lead_qualification", {})


async def test_calls_are_recorded_against_the_execution(setup: Setup) -> None:
    with execution_context("svc-exec"):
        await setup.service.process_text("Hi")
    rows = setup.ledger.execution_usage("svc-exec")
    assert len(rows) == 1
    assert rows[0]["model_name"] == "gpt-4o-mini"


async def test_unknown_model_falls_back_along_the_policy(setup: Setup) -> None:
    response = await setup.service.process_text("Hi", model="gpt-4-32k")
    assert response.is_success
    assert response.model != "gpt-4-32k"


@pytest.mark.parametrize("model", list(AIModelType))
async def test_every_ai_model_type_is_a_bundled_model(setup: Setup, model: AIModelType) -> None:
    """Code that names today's AIModelType values keeps its model after the upgrade."""
    response = await setup.service.process_text("Hi", model=model)
    assert response.is_success
    assert response.model == model.value


async def test_validate_response(setup: Setup) -> None:
    service = setup.service
    assert await service.validate_response("anything")
    assert await service.validate_response('{"a": 1}', required_fields=["a"])
    assert not await service.validate_response('{"a": 1}', required_fields=["b"])
    assert not await service.validate_response("[1]", required_fields=["b"])
    assert not await service.validate_response("not json", required_fields=["a"])
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    assert await service.validate_response('{"a": 1}', schema=schema)
    assert not await service.validate_response('{"a": "x"}', schema=schema)
    assert not await service.validate_response('{"a": 1}', schema={"type": "nonsense"})


async def test_templates_models_and_costs(setup: Setup) -> None:
    service = setup.service
    assert set(service.get_available_templates()) >= {
        "customer_inquiry",
        "lead_qualification",
        "service_recommendation",
        "generic_processing",
    }
    service.add_custom_template("greet", PromptTemplate("Hi {name}", ["name"]))
    try:
        assert "greet" in service.get_available_templates()
    finally:
        del service.DEFAULT_TEMPLATES["greet"]
    models = {m["name"]: m for m in await service.get_available_models()}
    assert models["gpt-4"]["input_cost_per_1k"] == 0.03  # floats, with capabilities
    assert "complex_reasoning" in models["gpt-4"]["capabilities"]
    assert "api_key" not in models["gpt-4"] and models["gpt-4"]["is_available"]
    assert await service.select_optimal_model("customer_inquiry", cost_preference="cheapest")
    costs = await service.get_model_costs("gpt-4", 1234)  # bundled: 0.03 in, 0.06 out per 1k
    assert costs["input_cost"] == 0.03702 and isinstance(costs["input_cost"], float)
    assert costs["output_cost"] == 0.07404
    assert costs["total_cost"] == 0.05553
    assert all(isinstance(value, float) for value in costs.values())
    exact = service.exact_model_costs("gpt-4", 1234)  # the Decimal form, as before
    assert exact["total_cost"] == Decimal("0.05553")
    assert costs["total_cost"] == float(exact["total_cost"])


def test_original_task_price_example(tmp_path: Any) -> None:
    from auterity_ai_step.resources import bundled_policy_path

    original = bundled_policy_path().parent / "examples" / "original_task.yml"
    service = AIService(
        policy_store=PolicyStore(original), ledger=Ledger(f"sqlite:///{tmp_path}/l.db")
    )
    assert service.exact_model_costs("gpt-4", 1234)["total_cost"] == Decimal("0.03702")


def test_global_service_needs_no_openai_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    set_ai_service(None)
    try:
        service = get_ai_service()
        assert get_ai_service() is service
        custom = AIService()
        set_ai_service(custom)
        assert get_ai_service() is custom
    finally:
        set_ai_service(None)


def test_api_key_argument_is_handed_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "")
    AIService(api_key="sk-test-constructor-key-000000")
    import os

    assert os.environ["OPENAI_API_KEY"] == "sk-test-constructor-key-000000"
