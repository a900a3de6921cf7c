"""Names the spans and metrics use: OpenTelemetry's GenAI conventions and our own.

The GenAI conventions followed are those of semantic-conventions 1.37 and later, where
``gen_ai.provider.name`` replaced ``gen_ai.system``. Our own attributes and instruments
live under ``auterity.ai_step.``. Execution and node ids go on spans only, never on
metrics: a label per execution would make a series per execution.
"""

from __future__ import annotations

__all__ = [
    "DURATION_BUCKETS_S",
    "TOKEN_BUCKETS",
    "provider_name",
]

# GenAI conventions: attributes.
GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_TEMPERATURE = "gen_ai.request.temperature"
GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
GEN_AI_TOKEN_TYPE = "gen_ai.token.type"  # noqa: S105 - an attribute name
GEN_AI_INPUT_MESSAGES = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES = "gen_ai.output.messages"
ERROR_TYPE = "error.type"
OPERATION_CHAT = "chat"

# GenAI conventions: client metrics and their advised bucket boundaries.
TOKEN_USAGE = "gen_ai.client.token.usage"  # noqa: S105 - a metric name
OPERATION_DURATION = "gen_ai.client.operation.duration"
TOKEN_BUCKETS = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
DURATION_BUCKETS_S = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip

# Our attributes.
NS = "auterity.ai_step."
STEP_SPAN = "auterity.ai_step"
EXECUTION_ID = NS + "execution_id"
NODE_ID = NS + "node_id"
CANDIDATES = NS + "candidates"
SKIPPED = NS + "skipped"
ATTEMPT = NS + "attempt"
ATTEMPTS = NS + "attempts"
IS_FALLBACK = NS + "is_fallback"
FALLBACK_USED = NS + "fallback_used"
COST_USD = NS + "cost_usd"
OUTCOME = NS + "outcome"
MODEL = NS + "model"
REFUSAL_REASON = NS + "refusal.reason"
HEALTH_STATUS = NS + "health.status"
STEP_OUTCOME = NS + "step.outcome"
BUDGET_ALERT_EVENT = NS + "budget_alert"

# Our instruments.
COST = NS + "cost_usd"
STEPS = NS + "steps"
FALLBACKS = NS + "fallbacks"
REFUSALS = NS + "refusals"
BUDGET_ALERTS = NS + "budget.alerts"
CIRCUIT_STATE = NS + "circuit.state"
HEALTH_CHECK_DURATION = NS + "health_check.duration"
HEALTH_UP = NS + "health.up"
BUDGET_SPENT_TODAY = NS + "budget.spent_today_usd"
BUDGET_RESERVED_TODAY = NS + "budget.reserved_today_usd"
BUDGET_REMAINING = NS + "budget.remaining_usd"
BUDGET_DAILY = NS + "budget.daily_usd"
BUDGET_ALERT_AT = NS + "budget.alert_at_usd"

#: Circuit states as the gauge reports them.
CIRCUIT_VALUES = {"closed": 0, "half_open": 1, "open": 2}

# Our provider names -> the conventions' well-known gen_ai.provider.name values.
_PROVIDERS = {
    "azure": "azure.ai.openai",
    "azure_ai": "azure.ai.inference",
    "bedrock": "aws.bedrock",
    "gemini": "gcp.gemini",
    "google": "gcp.gemini",
    "vertex_ai": "gcp.vertex_ai",
    "mistral": "mistral_ai",
    "xai": "x_ai",
    "watsonx": "ibm.watsonx.ai",
}


def provider_name(provider: str) -> str:
    """The conventions' ``gen_ai.provider.name`` for one of our provider names
    (``openai``, ``anthropic``, ``cohere``, ``groq``... are already theirs; others pass)."""
    return _PROVIDERS.get(provider, provider)
