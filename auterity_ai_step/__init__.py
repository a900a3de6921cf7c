"""auterity-ai-step: a multi-model AI step for the Auterity workflow engine.

Hosts and tests import from here; everything else is internal and may move. The list is
pinned by ``tests/test_public_api.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy import lazy_exports

if TYPE_CHECKING:
    from .contract.policy import Policy, load_policy
    from .contract.step import StepConfig, validate_step_config
    from .contract.templates import DEFAULT_TEMPLATES, PromptTemplate
    from .core.executor import AIStepExecutor, execution_context
    from .core.host import StepExecutionResult, WorkflowNode
    from .core.policy_source import PolicyStore
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
    from .service.ai_service import (
        AIModelType,
        AIResponse,
        AIService,
        get_ai_service,
        set_ai_service,
    )
    from .service.litellm_service import LiteLLMService
    from .service.model_configs import ModelConfig, ModelProvider

# Names load on first use so that commands which never run a step (validate, schema,
# render) do not pay for SQLAlchemy, the engine or LiteLLM at start-up.
_LAZY = {
    "Policy": ".contract.policy",
    "PolicyStore": ".core.policy_source",
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
    "AIStepExecutor": ".core.executor",
    "execution_context": ".core.executor",
    "StepExecutionResult": ".core.host",
    "WorkflowNode": ".core.host",
    "LiteLLMService": ".service.litellm_service",
    "ModelConfig": ".service.model_configs",
    "ModelProvider": ".service.model_configs",
    "AIModelType": ".service.ai_service",
    "AIResponse": ".service.ai_service",
    "AIService": ".service.ai_service",
    "get_ai_service": ".service.ai_service",
    "set_ai_service": ".service.ai_service",
    "WhatIfReport": ".core.whatif",
    "what_if": ".core.whatif",
}


__getattr__ = lazy_exports(__name__, _LAZY)


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
