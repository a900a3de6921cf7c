"""A small policy file whose models all live on a loopback simulator (for CLI/store tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def sim_policy_data(base: str, **cost_controls: Any) -> dict[str, Any]:
    model = {"input_cost_per_1k": 0.00015, "output_cost_per_1k": 0.0006}
    return {
        "models": {
            "openai": {
                "gpt-4o-mini": {
                    **model,
                    "litellm_model": "openai/gpt-4o-mini",
                    "context_window": 128000,
                    "max_output_tokens": 4096,
                    "api_base": f"{base}/v1",
                    "api_key_env": "OPENAI_API_KEY",
                },
                "broken": {
                    **model,
                    "litellm_model": "openai/broken-model",
                    "context_window": 128000,
                    "max_output_tokens": 4096,
                    "api_base": f"{base}/v1",
                },
            },
            "anthropic": {
                "claude-haiku-4-5": {
                    "litellm_model": "anthropic/claude-haiku-4-5",
                    "input_cost_per_1k": 0.001,
                    "output_cost_per_1k": 0.005,
                    "context_window": 200000,
                    "max_output_tokens": 4096,
                    "api_base": base,
                }
            },
        },
        "routing_rules": {"default_model": "gpt-4o-mini", "fallback_chain": ["gpt-4o-mini"]},
        "cost_controls": {"daily_budget": 10, "per_request_limit": 1, **cost_controls},
        "retry": {"initial_backoff_s": 0, "max_backoff_s": 0, "max_attempts_per_model": 2},
    }


def sim_policy_file(tmp_path: Path, base: str, **cost_controls: Any) -> Path:
    path = tmp_path / "policy.yml"
    path.write_text(yaml.safe_dump(sim_policy_data(base, **cost_controls)))
    return path
