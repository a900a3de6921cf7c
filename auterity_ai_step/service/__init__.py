"""The back-compatible face: Auterity's ``AIService`` and ``LiteLLMService`` interfaces
and the legacy model configs, answered by the core's engine.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .ai_service import (
        AIModelType,
        AIResponse,
        AIService,
        complete,
        get_ai_service,
        set_ai_service,
    )
    from .litellm_service import LiteLLMService
    from .model_configs import ModelConfig, ModelProvider, model_configs, model_provider

_LAZY = {
    "AIModelType": ".ai_service",
    "AIResponse": ".ai_service",
    "AIService": ".ai_service",
    "LiteLLMService": ".litellm_service",
    "ModelConfig": ".model_configs",
    "ModelProvider": ".model_configs",
    "complete": ".ai_service",
    "get_ai_service": ".ai_service",
    "model_configs": ".model_configs",
    "model_provider": ".model_configs",
    "set_ai_service": ".ai_service",
}

__all__ = [
    "AIModelType",
    "AIResponse",
    "AIService",
    "LiteLLMService",
    "ModelConfig",
    "ModelProvider",
    "complete",
    "get_ai_service",
    "model_configs",
    "model_provider",
    "set_ai_service",
]


def __getattr__(name: str) -> Any:
    """Load on first use, so importing one submodule does not load the others."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value
