"""Cohere as a policy entry: the request LiteLLM's cohere chat protocol (v2) sends.

The family's success, errors, timeouts and redaction run with the others (``FAMILIES`` in
gateway_support); this checks what only a Cohere entry has: the defaults a ``cohere``
group fills in, the body posted to ``/v2/chat`` (``api_base`` is that full URL, as
LiteLLM posts to it unchanged) and the bundled policy's model.
"""

from __future__ import annotations

import pytest
from gateway_support import FAKE_KEY, script

from auterity_ai_step.contract.policy import ModelSpec, parse_policy
from auterity_ai_step.routing.gateway import CompletionRequest, complete
from auterity_ai_step.simulator.server import Simulator

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


def test_the_bundled_policy_has_a_cohere_model() -> None:
    from auterity_ai_step import load_policy

    spec = load_policy().models["command-r"]
    assert (spec.provider, spec.litellm_model) == ("cohere", "cohere_chat/command-r-08-2024")
    assert spec.api_key_env == "COHERE_API_KEY" and spec.input_cost_per_1k is not None
