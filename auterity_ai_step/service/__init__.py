"""The back-compatible face: Auterity's ``AIService`` and ``LiteLLMService`` interfaces
and the legacy model configs, answered by the core's engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

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


__getattr__ = lazy_exports(__name__, _LAZY)
