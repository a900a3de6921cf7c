"""Cohere through the gateway: LiteLLM's cohere chat protocol (v2) over loopback HTTP.

The simulator answers ``POST /v2/chat`` as Cohere does; ``api_base`` is that full URL, as
LiteLLM's cohere_chat provider posts to the base it is given.
"""

from __future__ import annotations

import pytest
from gateway_support import FAKE_KEY, script

from auterity_ai_step import errors
from auterity_ai_step.contract.policy import ModelSpec, parse_policy
from auterity_ai_step.routing.gateway import CompletionRequest, complete
from auterity_ai_step.simulator import Simulator

pytestmark = pytest.mark.usefixtures("production_transport")


def cohere_spec(sim: Simulator, model: str = "command-r-08-2024") -> ModelSpec:
    policy = parse_policy(
        {
            "models": {
                "cohere": {
                    "command-r": {
                        "litellm_model": f"cohere_chat/{model}",
                        "api_base": f"{sim.base_url}/v2/chat",
                        "context_window": 128000,
                        "max_output_tokens": 512,
                    }
                }
            },
            "routing_rules": {"default_model": "command-r"},
        }
    )
    return policy.models["command-r"]


def ask(spec: ModelSpec) -> CompletionRequest:
    hello = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    return CompletionRequest(model=spec, messages=hello, max_tokens=50, timeout_s=5.0)


@pytest.fixture
def cohere_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COHERE_API_KEY", FAKE_KEY)


@pytest.mark.usefixtures("cohere_key")
async def test_cohere_chat_answers_with_the_providers_usage(simulator: Simulator) -> None:
    script(
        simulator, "command-r-08-2024", "ok", answer="Hello!", prompt_tokens=12, completion_tokens=4
    )
    spec = cohere_spec(simulator)
    assert (spec.provider, spec.api_key_env) == ("cohere", "COHERE_API_KEY")
    result = await complete(ask(spec))
    assert (result.content, result.prompt_tokens, result.completion_tokens) == ("Hello!", 12, 4)
    assert result.finish_reason == "stop"
    [sent] = simulator.requests
    assert sent.path == "/v2/chat"
    assert sent.body["messages"][-1] == {"role": "user", "content": "Hi"}
    assert sent.body["max_tokens"] == 50


@pytest.mark.usefixtures("cohere_key")
@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        ("500", errors.ProviderUnavailable),
        ("401", errors.AuthenticationFailed),
        ("429", errors.RateLimited),
    ],
)
async def test_cohere_errors_are_translated_without_the_key(
    simulator: Simulator, outcome: str, expected: type[errors.ProviderError]
) -> None:
    script(simulator, "command-r-08-2024", outcome)
    with pytest.raises(expected) as raised:
        await complete(ask(cohere_spec(simulator)))
    assert FAKE_KEY not in str(raised.value)
    assert simulator.count("command-r-08-2024") == 1


def test_the_bundled_policy_has_a_cohere_model() -> None:
    from auterity_ai_step import load_policy

    spec = load_policy().models["command-r"]
    assert (spec.provider, spec.litellm_model) == ("cohere", "cohere_chat/command-r-08-2024")
    assert spec.api_key_env == "COHERE_API_KEY" and spec.input_cost_per_1k is not None
