"""auterity-ai-step: a multi-model AI step for the Auterity workflow engine.

Hosts and tests import from here; everything else is internal and may move. The list is
pinned by ``tests/test_public_api.py``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .contract.policy import Policy, PolicyStore, load_policy
    from .contract.step import StepConfig, validate_step_config
    from .contract.templates import DEFAULT_TEMPLATES, PromptTemplate
    from .core.whatif import WhatIfReport, what_if
    from .errors import (
        AIServiceError,
        AuterityAIError,
        LimitExceeded,
        PolicyError,
        ProviderError,
        StepConfigError,
        TemplateError,
    )
    from .executor import AIStepExecutor, execution_context
    from .host import StepExecutionResult, WorkflowNode
    from .litellm_service import LiteLLMService
    from .model_configs import ModelConfig, ModelProvider
    from .service import AIModelType, AIResponse, AIService, get_ai_service, set_ai_service

# Names load on first use so that commands which never run a step (validate, schema,
# render) do not pay for SQLAlchemy, the engine or LiteLLM at start-up.
_LAZY = {
    "Policy": ".contract.policy",
    "PolicyStore": ".contract.policy",
    "load_policy": ".contract.policy",
    "StepConfig": ".contract.step",
    "validate_step_config": ".contract.step",
    "DEFAULT_TEMPLATES": ".contract.templates",
    "PromptTemplate": ".contract.templates",
    "AIServiceError": ".errors",
    "AuterityAIError": ".errors",
    "LimitExceeded": ".errors",
    "PolicyError": ".errors",
    "ProviderError": ".errors",
    "StepConfigError": ".errors",
    "TemplateError": ".errors",
    "AIStepExecutor": ".executor",
    "execution_context": ".executor",
    "StepExecutionResult": ".host",
    "WorkflowNode": ".host",
    "LiteLLMService": ".litellm_service",
    "ModelConfig": ".model_configs",
    "ModelProvider": ".model_configs",
    "AIModelType": ".service",
    "AIResponse": ".service",
    "AIService": ".service",
    "get_ai_service": ".service",
    "set_ai_service": ".service",
    "WhatIfReport": ".core.whatif",
    "what_if": ".core.whatif",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__version__ = "0.1.0"

__all__ = [
    "DEFAULT_TEMPLATES",
    "AIModelType",
    "AIResponse",
    "AIService",
    "AIServiceError",
    "AIStepExecutor",
    "AuterityAIError",
    "LimitExceeded",
    "LiteLLMService",
    "ModelConfig",
    "ModelProvider",
    "Policy",
    "PolicyError",
    "PolicyStore",
    "PromptTemplate",
    "ProviderError",
    "StepConfig",
    "StepConfigError",
    "StepExecutionResult",
    "TemplateError",
    "WhatIfReport",
    "WorkflowNode",
    "__version__",
    "execution_context",
    "get_ai_service",
    "load_policy",
    "set_ai_service",
    "validate_step_config",
    "what_if",
]
