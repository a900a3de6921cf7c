"""The original task's LiteLLMService, ModelProvider and ModelConfig: faces over the engine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from auterity_ai_step import (
    AIModelType,
    AIService,
    AIServiceError,
    LiteLLMService,
    ModelConfig,
    ModelProvider,
    PolicyError,
    execution_context,
    load_policy,
)
from auterity_ai_step.cli.demo import simulated_policy
from auterity_ai_step.core.engine import Engine
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.simulator.server import ModelBehaviour, Scenario, Simulator
from auterity_ai_step.store.ledger import Ledger

HELLO = [{"role": "user", "content": "Hello"}]


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    scenario = Scenario(models={"gpt-4o": ModelBehaviour(outcomes=(500,))})
    async with Simulator(scenario) as simulator:
        yield simulator


@pytest.fixture
def service(sim: Simulator, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> LiteLLMService:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "COHERE_API_KEY"):
        monkeypatch.setenv(name, "sk-test-not-a-real-key")
    store = PolicyStore.fixed(simulated_policy(load_policy(), sim.base_url))

    async def no_wait(_: float) -> None:
        return None

    return LiteLLMService(engine=Engine(store, Ledger(sqlite_url), sleep=no_wait))


def test_the_providers_are_the_original_tasks() -> None:
    assert [p.name for p in ModelProvider] == [
        "OPENAI",
        "OLLAMA",
        "HUGGINGFACE",
        "ANTHROPIC",
        "COHERE",
    ]


async def test_make_completion_runs_through_the_engine_and_the_ledger(
    service: LiteLLMService, sim: Simulator
) -> None:
    with execution_context("exec-litellm-1"):
        reply = await service.make_completion(HELLO, "gpt-4o-mini", max_tokens=20)
    assert reply.is_success and reply.model == "gpt-4o-mini"
    assert sim.requests[-1].body["max_tokens"] == 20
    rows = service.engine.ledger.execution_usage("exec-litellm-1")
    assert [(r["model_name"], r["status"]) for r in rows] == [("gpt-4o-mini", "success")]


async def test_make_completion_falls_back_and_never_raises_for_a_failed_call(
    service: LiteLLMService,
) -> None:
    reply = await service.make_completion(HELLO, "gpt-4o")  # 500s: the policy chain answers
    assert reply.is_success and reply.model != "gpt-4o"


async def test_make_completion_names_an_unsupported_option(service: LiteLLMService) -> None:
    with pytest.raises(AIServiceError, match=r"unsupported option\(s\) \['stream'\]"):
        await service.make_completion(HELLO, "gpt-4o-mini", stream=True)


def test_available_models_are_model_configs_with_exact_prices(service: LiteLLMService) -> None:
    models = {m.name: m for m in service.get_available_models()}
    gpt4 = models["gpt-4"]
    assert isinstance(gpt4, ModelConfig)
    assert gpt4.provider is ModelProvider.OPENAI
    assert (gpt4.input_cost_per_1k, gpt4.output_cost_per_1k) == (Decimal("0.03"), Decimal("0.06"))
    assert gpt4.cost_per_token == float(Decimal("0.045") / 1000)
    assert gpt4.api_key is None and gpt4.api_key_env == "OPENAI_API_KEY"
    assert models["command-r"].provider is ModelProvider.COHERE
    assert all(m.is_available for m in models.values())


async def test_health_check_makes_a_real_call(service: LiteLLMService, sim: Simulator) -> None:
    assert await service.health_check("gpt-4o-mini") is True
    assert await service.health_check("gpt-4o") is False  # the simulator answers 500
    with pytest.raises(PolicyError, match="gpt-9"):
        await service.health_check("gpt-9")


def test_ai_service_keeps_the_model_member_it_was_given(sqlite_url: str) -> None:
    service = AIService(model=AIModelType.GPT_4, ledger=Ledger(sqlite_url))
    assert service.model is AIModelType.GPT_4
    assert AIService(model="gpt-4", ledger=Ledger(sqlite_url)).model == "gpt-4"
