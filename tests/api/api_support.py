"""Constants and documents shared by the API tests (imported by basename)."""

from __future__ import annotations

import secrets

from auterity_ai_step.simulator.server import ModelBehaviour, Scenario

USER_TOKEN = "user-token-" + "u" * 24
ADMIN_TOKEN = "admin-token-" + "a" * 24
KEY_ENV = "AUTERITY_TEST_OPENAI_KEY"
UNSET_ENV = "AUTERITY_TEST_UNSET_KEY"
FAKE_KEY = "sk-test-" + secrets.token_hex(16)


def policy_document(base: str) -> dict[str, object]:
    """Five models: two OpenAI-style, one failing, one hanging, one local (Ollama)."""

    def openai(name: str, **extra: object) -> dict[str, object]:
        return {
            "provider": "openai",
            "litellm_model": f"openai/{name}",
            "api_base": f"{base}/v1",
            "api_key_env": KEY_ENV,
            **extra,
        }

    return {
        "models": {
            "sim-gpt": openai(
                "sim-gpt",
                input_cost_per_1k="0.0005",
                output_cost_per_1k="0.0015",
                context_window=16000,
                max_output_tokens=4096,
                quality=6,
                capabilities=["text", "chat"],
                use_cases=["general", "customer_service"],
            ),
            "sim-premium": openai(
                "sim-premium",
                input_cost_per_1k="0.003",
                output_cost_per_1k="0.015",
                context_window=200000,
                max_output_tokens=8192,
                quality=9,
                use_cases=["complex_analysis"],
                api_key_env=UNSET_ENV,
            ),
            "sim-down": openai(
                "sim-down",
                input_cost_per_1k="0.001",
                output_cost_per_1k="0.002",
                context_window=32000,
                quality=10,
            ),
            "sim-hang": {
                **openai("sim-hang", input_cost_per_1k="0.001", context_window=8000, quality=4),
                "health": {"timeout_s": 0.3},
            },
            "local-llama": {
                "provider": "ollama",
                "litellm_model": "ollama_chat/local-llama",
                "api_base": base,
                "input_cost_per_1k": 0,
                "output_cost_per_1k": 0,
                "context_window": 8192,
                "quality": 3,
                "use_cases": ["general"],
            },
        },
        "routing_rules": {
            "default_model": "sim-gpt",
            "fallback_chain": ["sim-premium", "local-llama"],
            "task_preferences": {"customer_service": ["sim-gpt", "sim-premium"]},
        },
        "cost_controls": {"daily_budget": "5", "alert_threshold": 80},
    }


def scenario() -> Scenario:
    return Scenario(
        models={
            "sim-gpt": ModelBehaviour(),
            "sim-premium": ModelBehaviour(),
            "sim-down": ModelBehaviour(outcomes=(500,)),
            "sim-hang": ModelBehaviour(outcomes=("timeout",), hang_s=20),
            "local-llama": ModelBehaviour(),
        },
        default=None,
    )
