"""``LiteLLMService``: the original task's service, as a thin face over the engine.

The task sketched a class that calls LiteLLM itself. Here every call goes through the same
engine as AI steps and ``AIService`` (policy routing, retries, fallback, cost limits, the
ledger): no second code path, and LiteLLM stays behind the gateway.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum
from pathlib import Path
from typing import Any

from ..core.engine import Engine
from ..core.executor import default_engine
from ..core.policy_source import PolicyStore
from ..errors import AIServiceError
from ..routing.health import HealthMonitor
from ..store.ledger import Ledger
from .ai_service import AIResponse, complete
from .model_configs import ModelConfig, model_configs

__all__ = ["LiteLLMService"]

_COMPLETION_OPTIONS = ("temperature", "max_tokens")


class LiteLLMService:
    """Multi-model completions, model listing and health checks over one policy.

    ``config_path`` is a policy file (else ``AUTERITY_AI_POLICY``, else the bundled one);
    the ledger comes from ``AUTERITY_AI_DATABASE_URL`` unless given.
    """

    def __init__(
        self,
        config_path: str | Path | None = None,
        *,
        ledger: Ledger | None = None,
        engine: Engine | None = None,
    ) -> None:
        if engine is None:
            ledger = ledger or Ledger()
            store = None
            if config_path is not None:
                store = PolicyStore(config_path, overrides=ledger.model_configurations)
            engine = default_engine(store, ledger)
        self.engine = engine
        self._monitor = HealthMonitor(engine.policy_store, engine.breaker)

    async def make_completion(
        self, messages: Sequence[Mapping[str, str]], model: Enum | str, **kwargs: Any
    ) -> AIResponse:
        """One completion, with the policy's retries and fallback; never raises for a
        failed call (the AIResponse's ``error`` says why). Options: ``temperature``,
        ``max_tokens``; any other keyword is an AIServiceError naming it."""
        unknown = sorted(set(kwargs) - set(_COMPLETION_OPTIONS))
        if unknown:
            raise AIServiceError(
                f"make_completion: unsupported option(s) {unknown}; "
                f"supported: {', '.join(_COMPLETION_OPTIONS)}"
            )
        return await complete(
            self.engine,
            messages,
            model,
            temperature=kwargs.get("temperature", 0.7),
            max_tokens=kwargs.get("max_tokens"),
        )

    def get_available_models(self) -> list[ModelConfig]:
        """Every policy model with its exact prices; no provider is called."""
        return model_configs(self.engine.policy_store.current(), self.engine.breaker)

    async def health_check(self, model: str) -> bool:
        """A real cheap request to ``model``: True when it answered (even if slowly).

        A model the policy does not know is a PolicyError naming the known ones.
        """
        status = await self._monitor.health_check(model)
        return status.status in ("available", "slow")
