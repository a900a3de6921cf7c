"""Helpers shared by the gateway tests (a plain module: ``tests`` is not a package)."""

from __future__ import annotations

from typing import Any

from auterity_ai_step.contract.policy import ModelSpec
from auterity_ai_step.simulator.server import ModelBehaviour, Simulator

FAKE_KEY = "sk-test-0123456789abcdefSECRET"

#: provider family -> (litellm prefix, api_base suffix on the simulator, key env var)
FAMILIES: dict[str, tuple[str, str, str | None]] = {
    "openai": ("openai", "/v1", "OPENAI_API_KEY"),
    "ollama": ("ollama_chat", "", None),
    "huggingface": ("huggingface", "", "HUGGINGFACE_API_KEY"),
    "anthropic": ("anthropic", "", "ANTHROPIC_API_KEY"),
    "cohere": ("cohere_chat", "/v2/chat", "COHERE_API_KEY"),
}
#: Families whose 429 reaches us without Retry-After: LiteLLM 1.110.2's Cohere error drops
#: the response headers, so the policy's own backoff applies.
# LiteLLM drops a Cohere error's headers, but the gateway reads Retry-After from the
# provider's own answer in the exception chain, so every family carries it.
FAMILIES_WITHOUT_RETRY_AFTER: set[str] = set()


def make_spec(family: str, model: str, base_url: str, **overrides: Any) -> ModelSpec:
    """A ModelSpec for ``model`` on the simulator (or any base URL) in a provider family."""
    prefix, suffix, key_env = FAMILIES[family]
    values: dict[str, Any] = {
        "name": f"{family}-{model}",
        "provider": family,
        "litellm_model": f"{prefix}/{model}",
        "context_window": 8192,
        "max_output_tokens": 512,
        "quality": 5,
        "api_base": base_url + suffix,
        "api_key_env": key_env,
    }
    values.update(overrides)
    return ModelSpec(**values)


def script(sim: Simulator, model: str, *outcomes: Any, **kw: Any) -> None:
    """Give ``model`` a scripted behaviour on a running simulator."""
    sim.scenario.models[model] = ModelBehaviour(outcomes=outcomes or ("ok",), **kw)
