"""The back-compatible ``AIService``: today's surface, now multi-model underneath.

Hosts that call ``get_ai_service().process_text(...)`` keep working unchanged, but calls
go through the same engine as the executor (policy routing, tenacity retries, fallback,
cost limits, the usage ledger) instead of a direct OpenAI client. A plain string model
works as well as an ``AIModelType``, and no OpenAI key is needed when the policy routes
elsewhere.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

import jsonschema

from ..contract.policy import RetrySettings
from ..contract.step import validate_step_config
from ..contract.templates import DEFAULT_SYSTEM_PROMPT, DEFAULT_TEMPLATES, PromptTemplate
from ..core.catalog import recommend
from ..core.engine import Engine
from ..core.executor import current_execution_id, default_engine
from ..core.policy_source import PolicyStore
from ..core.prices import PRICES
from ..core.run_types import RunRequest
from ..core.runtime import Ledger
from ..errors import AIServiceError, LegacyTemplateError, StepConfigError
from ..money.prices import money_text
from .model_configs import model_configs

__all__ = [
    "AIModelType",
    "AIResponse",
    "AIService",
    "complete",
    "get_ai_service",
    "set_ai_service",
]

log = logging.getLogger("auterity_ai_step.service")


class AIModelType(Enum):
    """Today's model names; any policy model name works as a plain string too."""

    GPT_3_5_TURBO = "gpt-3.5-turbo"
    GPT_4 = "gpt-4"
    GPT_4_TURBO = "gpt-4-turbo-preview"


@dataclass
class AIResponse:
    """Container for AI service responses (unchanged shape)."""

    content: str
    model: str
    usage: dict[str, Any] | None = None
    finish_reason: str | None = None
    error: str | None = None

    @property
    def is_success(self) -> bool:
        """True when the call produced an answer (``error`` is None)."""
        return self.error is None


def _model_name(model: Enum | str | None) -> str | None:
    """A model's policy name from a plain string or any enum member (the host's too)."""
    if model is None:
        return None
    return str(model.value) if isinstance(model, Enum) else str(model)


class AIService:
    """Service for AI-powered workflow processing (back-compatible)."""

    DEFAULT_TEMPLATES: dict[str, PromptTemplate] = DEFAULT_TEMPLATES

    def __init__(
        self,
        api_key: str | None = None,
        model: Enum | str | None = None,
        max_retries: int = 3,
        retry_delay: float = 1.0,
        *,
        policy_store: PolicyStore | None = None,
        ledger: Ledger | None = None,
        engine: Engine | None = None,
    ) -> None:
        if api_key and not os.environ.get("OPENAI_API_KEY"):
            # Today's constructor took the OpenAI key directly; the gateway reads keys
            # from the environment variable the policy names, so hand it over there.
            os.environ["OPENAI_API_KEY"] = api_key
        self.engine = engine or default_engine(policy_store, ledger)
        self.model = model  # kept as given: an AIModelType member stays one
        self.max_retries = max_retries
        self.retry_delay = retry_delay
        self.logger = log

    async def process_text(
        self,
        prompt: str,
        context: dict[str, Any] | None = None,
        model: Enum | str | None = None,
        temperature: float = 0.7,
        max_tokens: int | None = None,
    ) -> AIResponse:
        """Send one prompt (plus optional context) and return the answer."""
        model_name = _model_name(model) or _model_name(self.model)
        self.logger.info("Processing text with model %s", model_name or "(policy default)")
        messages = [
            {"role": "system", "content": DEFAULT_SYSTEM_PROMPT},
            {"role": "user", "content": prompt},
        ]
        if context:
            context_str = f"Additional context: {json.dumps(context, indent=2)}"
            messages.append({"role": "system", "content": context_str})
        return await self._make_api_call(messages, model_name, temperature, max_tokens)

    async def process_with_template(
        self,
        template_name: str,
        variables: dict[str, Any],
        context: dict[str, Any] | None = None,
        model: Enum | str | None = None,
    ) -> AIResponse:
        """Render a named template; AIServiceError if it is unknown or variables are missing."""
        if template_name not in self.DEFAULT_TEMPLATES:
            raise AIServiceError(f"Template '{template_name}' not found")
        try:
            prompt = self.DEFAULT_TEMPLATES[template_name].format(**variables)
        except LegacyTemplateError as exc:  # the service's callers see today's class
            raise AIServiceError(str(exc)) from exc
        return await self.process_text(prompt=prompt, context=context, model=model)

    async def _make_api_call(
        self,
        messages: list[dict[str, str]],
        model: Enum | str | None,
        temperature: float = 0.7,
        max_tokens: int | None = None,
    ) -> AIResponse:
        """One logical call: ``max_retries + 1`` attempts per model, then policy fallback
        (today's service promised those retries, so ``fallback_first`` is off here).

        Never raises: a failure comes back as an AIResponse with ``error`` set.
        """
        retry = (await self.engine.current_policy()).retry
        retry = retry.model_copy(
            update={
                "fallback_first": False,
                "max_attempts_per_model": self.max_retries + 1,
                "initial_backoff_s": self.retry_delay,
                "max_backoff_s": max(self.retry_delay * 8, retry.max_backoff_s),
            }
        )
        response = await complete(self.engine, messages, model, temperature, max_tokens, retry)
        if response.error:
            self.logger.error("%s", response.error)
        return response

    async def validate_response(
        self,
        response: str,
        schema: dict[str, Any] | None = None,
        required_fields: list[str] | None = None,
    ) -> bool:
        """True when the answer is JSON with the required fields and matches ``schema``."""
        if not schema and not required_fields:
            return True
        try:
            parsed = json.loads(response)
        except ValueError:
            self.logger.warning("Response is not valid JSON")
            return False
        if required_fields:
            if not isinstance(parsed, dict):
                return False
            missing = [name for name in required_fields if name not in parsed]
            if missing:
                self.logger.warning("Missing required fields: %s", missing)
                return False
        if schema:
            try:
                jsonschema.validate(parsed, schema)
            except jsonschema.ValidationError as exc:
                self.logger.warning("Response breaks schema: %s", exc.message)
                return False
            except jsonschema.SchemaError as exc:
                self.logger.error("Response validation error: invalid schema: %s", exc.message)
                return False
        return True

    def add_custom_template(self, name: str, template: PromptTemplate) -> None:
        """Add a template (shared by every service, as today)."""
        self.DEFAULT_TEMPLATES[name] = template
        self.logger.info("Added custom template: %s", name)

    def get_available_templates(self) -> list[str]:
        return list(self.DEFAULT_TEMPLATES.keys())

    async def get_available_models(self) -> list[dict[str, Any]]:
        """Every policy model with its capabilities and costs (floats, per 1k tokens).

        ``is_available`` is the circuit breaker's view; no provider is called. The exact
        ``Decimal`` prices are on ``LiteLLMService.get_available_models()``.
        """
        policy = await self.engine.current_policy()
        models = []
        for config in model_configs(policy, self.engine.breaker):
            data = asdict(config)
            data["provider"] = _model_name(config.provider)
            for key in ("input_cost_per_1k", "output_cost_per_1k"):
                data[key] = None if data[key] is None else float(data[key])
            del data["api_key"]
            models.append(data)
        return models

    async def select_optimal_model(
        self, task_type: str, context_length: int = 0, cost_preference: str = "balanced"
    ) -> str:
        """The best policy model for the task (see routing.candidates for the reasons)."""
        policy = await self.engine.current_policy()
        return recommend(policy, task_type, context_length, cost_preference).model

    async def get_model_costs(self, model: str, tokens_used: int) -> dict[str, float]:
        """What ``tokens_used`` tokens cost on ``model``, in US dollars, as floats.

        Each float is converted once from the exact figure; :meth:`exact_model_costs` has
        the ``Decimal`` ones and where the price came from. ``total_cost`` is at the
        blended (mean of input and output) rate.
        """
        exact = self.exact_model_costs(model, tokens_used)
        return {key: float(value) for key, value in exact.items() if isinstance(value, Decimal)}

    def exact_model_costs(self, model: str, tokens_used: int) -> dict[str, Any]:
        """Exact Decimal costs of ``tokens_used`` tokens on ``model`` at the package's prices."""
        return PRICES.model_costs(self.engine.policy_store.current(), model, tokens_used)


async def complete(
    engine: Engine,
    messages: Sequence[Mapping[str, str]],
    model: Enum | str | None,
    temperature: float = 0.7,
    max_tokens: int | None = None,
    retry: RetrySettings | None = None,
) -> AIResponse:
    """One call through the engine as an AIResponse; never raises for a failed call.

    Shared by ``AIService`` and ``LiteLLMService``: one code path. ``retry`` replaces the
    policy's retry settings for this call; usage is recorded against the current
    ``execution_context``, if any.
    """
    name = _model_name(model) or (await engine.current_policy()).routing.default_model
    data: dict[str, Any] = {
        "config_version": 2,
        "messages": [dict(m) for m in messages],
        "model": name,
        "temperature": temperature,
    }
    if max_tokens is not None:
        data["max_tokens"] = max_tokens
    try:
        config = validate_step_config(data)
    except StepConfigError as exc:
        return AIResponse(content="", model=name, error=str(exc))
    outcome = await engine.run(
        RunRequest(
            config=config, messages=messages, execution_id=current_execution_id(), retry=retry
        )
    )
    if not outcome.success or outcome.model is None:
        error = f"API call failed after {outcome.calls_made} attempts: {outcome.error}"
        return AIResponse(content="", model=name, error=error)
    return AIResponse(
        content=outcome.content,
        model=outcome.model.name,
        usage={
            "prompt_tokens": outcome.prompt_tokens,
            "completion_tokens": outcome.completion_tokens,
            "total_tokens": outcome.prompt_tokens + outcome.completion_tokens,
            "cost": money_text(outcome.cost),
        },
        finish_reason=outcome.finish_reason,
    )


_ai_service_instance: AIService | None = None


def get_ai_service() -> AIService:
    """The process-wide service, created on first use from the environment's settings."""
    global _ai_service_instance
    if _ai_service_instance is None:
        _ai_service_instance = AIService()
    return _ai_service_instance


def set_ai_service(service: AIService | None) -> None:
    """Replace the process-wide service (useful for tests and hosts)."""
    global _ai_service_instance
    _ai_service_instance = service
