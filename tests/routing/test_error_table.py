"""Every row of the provider error table, with the provider's real error body, end to end.

Each case is a body a provider documents (or was seen to send), served over loopback HTTP in
its own protocol (OpenAI, Anthropic ``/v1/messages``, Ollama ``/api/chat``, HuggingFace TGI
through its OpenAI route) and run through the real LiteLLM transport, the engine and a real
SQLite ledger. Each asserts the class recorded on the attempt's ledger row and in
``ai_attempts``, the status and words in the attempt's message, the number of calls the
failing model received, and which candidate answered instead.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from gateway_support import FAMILIES

from auterity_ai_step import AIStepExecutor, WorkflowNode, errors
from auterity_ai_step.contract.policy import parse_policy
from auterity_ai_step.core.attempt import QUOTA_QUARANTINE_S
from auterity_ai_step.core.engine import Engine
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.routing import error_table, provider_errors
from auterity_ai_step.routing.health import CircuitBreaker, Quarantine
from auterity_ai_step.simulator.server import ModelBehaviour, Simulator
from auterity_ai_step.store.ledger import Ledger

pytestmark = pytest.mark.usefixtures("production_transport", "fake_keys")

ATTEMPTS_PER_MODEL = 2


def openai_error(message: str, type_: str, code: str | None, param: str | None = None) -> Any:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def anthropic_error(type_: str, message: str) -> Any:
    return {"type": "error", "error": {"type": type_, "message": message}}


@dataclass(frozen=True)
class Case:
    family: str
    row: str
    status: int
    body: Any
    expected: type[errors.ProviderError]
    words: str  # a piece of the provider's own words the attempt's message must keep

    @property
    def id(self) -> str:
        return f"{self.family}-{self.status}-{self.row}"


CASES = [
    # -- OpenAI ---------------------------------------------------------------------------
    Case(
        "openai",
        "insufficient-quota",
        429,
        openai_error(
            "You exceeded your current quota, please check your plan and billing details. For "
            "more information on this error, read the docs: "
            "https://platform.openai.com/docs/guides/error-codes/api-errors.",
            "insufficient_quota",
            "insufficient_quota",
        ),
        errors.QuotaExceeded,
        "You exceeded your current quota",
    ),
    Case(
        "openai",
        "rate-limit",
        429,
        openai_error(
            "Rate limit reached for gpt-4o-mini in organization org-abc123 on requests per min "
            "(RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.",
            "requests",
            "rate_limit_exceeded",
        ),
        errors.RateLimited,
        "Rate limit reached",
    ),
    Case(
        "openai",
        "context-window",
        400,
        openai_error(
            "This model's maximum context length is 8192 tokens. However, your messages "
            "resulted in 9120 tokens. Please reduce the length of the messages.",
            "invalid_request_error",
            "context_length_exceeded",
            "messages",
        ),
        errors.ContextWindowExceeded,
        "maximum context length is 8192 tokens",
    ),
    Case(
        "openai",
        "content-filter",
        400,
        openai_error(
            "Your request was rejected as a result of our safety system. Your prompt may "
            "contain text that is not allowed by our safety system.",
            "invalid_request_error",
            "content_policy_violation",
        ),
        errors.ContentRefused,
        "rejected as a result of our safety system",
    ),
    Case(
        "openai",
        "authentication",
        401,
        openai_error(
            "Incorrect API key provided: sk-proj-****abcd. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            "invalid_api_key",
        ),
        errors.AuthenticationFailed,
        "Incorrect API key provided",
    ),
    Case(
        "openai",
        "authentication",
        403,
        openai_error(
            "Country, region, or territory not supported",
            "request_forbidden",
            "unsupported_country_region_territory",
        ),
        errors.AuthenticationFailed,
        "Country, region, or territory not supported",
    ),
    Case(
        "openai",
        "not-found",
        404,
        openai_error(
            "The model `gpt-4o-nope` does not exist or you do not have access to it.",
            "invalid_request_error",
            "model_not_found",
        ),
        errors.ModelNotFound,
        "does not exist or you do not have access to it",
    ),
    Case(
        "openai",
        "bad-request",
        400,
        openai_error(
            "Unsupported value: 'temperature' does not support 0.2 with this model. Only the "
            "default (1) value is supported.",
            "invalid_request_error",
            "unsupported_value",
            "temperature",
        ),
        errors.BadRequest,
        "Unsupported value: 'temperature'",
    ),
    Case(
        "openai",
        "server-error",
        500,
        openai_error(
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            None,
        ),
        errors.ProviderUnavailable,
        "The server had an error while processing your request",
    ),
    Case(
        "openai",
        "server-error",
        503,
        openai_error(
            "The engine is currently overloaded, please try again later.", "server_error", None
        ),
        errors.ProviderUnavailable,
        "The engine is currently overloaded",
    ),
    Case(
        "openai",
        "gateway-timeout",
        504,
        "<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n"
        "<center><h1>504 Gateway Time-out</h1></center>\r\n</body>\r\n</html>\r\n",
        errors.ProviderTimeout,
        "504 Gateway Time-out",
    ),
    # -- Anthropic /v1/messages -------------------------------------------------------------
    Case(
        "anthropic",
        "server-error",
        529,
        anthropic_error("overloaded_error", "Overloaded"),
        errors.ProviderUnavailable,
        "HTTP 529: Overloaded",
    ),
    Case(
        "anthropic",
        "server-error",
        500,
        anthropic_error("api_error", "Internal server error"),
        errors.ProviderUnavailable,
        "Internal server error",
    ),
    Case(
        "anthropic",
        "rate-limit",
        429,
        anthropic_error(
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit "
            "(https://docs.anthropic.com/en/api/rate-limits); see the response headers for "
            "current usage. Please reduce the prompt length or the maximum tokens requested, "
            "or try again later.",
        ),
        errors.RateLimited,
        "Number of request tokens has exceeded your per-minute rate limit",
    ),
    Case(
        "anthropic",
        "context-window",
        400,
        anthropic_error(
            "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"
        ),
        errors.ContextWindowExceeded,
        "prompt is too long",
    ),
    Case(
        "anthropic",
        "context-window",
        400,
        anthropic_error(
            "invalid_request_error",
            "input length and `max_tokens` exceed context limit: 197367 + 8192 > 200000, "
            "decrease input length or `max_tokens` and try again",
        ),
        errors.ContextWindowExceeded,
        "exceed context limit",
    ),
    Case(
        "anthropic",
        "billing",
        400,
        anthropic_error(
            "invalid_request_error",
            "Your credit balance is too low to access the Anthropic API. Please go to Plans & "
            "Billing to upgrade or purchase credits.",
        ),
        errors.QuotaExceeded,
        "Your credit balance is too low",
    ),
    Case(
        "anthropic",
        "payment-required",
        402,
        anthropic_error(
            "billing_error", "There's an issue with your billing or payment information."
        ),
        errors.QuotaExceeded,
        "There's an issue with your billing",
    ),
    Case(
        "anthropic",
        "authentication",
        401,
        anthropic_error("authentication_error", "invalid x-api-key"),
        errors.AuthenticationFailed,
        "invalid x-api-key",
    ),
    Case(
        "anthropic",
        "authentication",
        403,
        anthropic_error(
            "permission_error",
            "Your API key does not have permission to use the specified resource.",
        ),
        errors.AuthenticationFailed,
        "does not have permission",
    ),
    Case(
        "anthropic",
        "not-found",
        404,
        anthropic_error("not_found_error", "model: claude-nope-4"),
        errors.ModelNotFound,
        "model: claude-nope-4",
    ),
    Case(
        "anthropic",
        "bad-request",
        413,
        anthropic_error(
            "request_too_large", "Request exceeds the maximum allowed number of bytes."
        ),
        errors.BadRequest,
        "Request exceeds the maximum allowed number of bytes",
    ),
    Case(
        "anthropic",
        "gateway-timeout",
        408,
        anthropic_error("timeout_error", "Request timed out"),
        errors.ProviderTimeout,
        "Request timed out",
    ),
    # -- Ollama /api/chat ---------------------------------------------------------------------
    Case(
        "ollama",
        "not-found",
        404,
        {"error": 'model "failing" not found, try pulling it first'},
        errors.ModelNotFound,
        "try pulling it first",
    ),
    Case(
        "ollama",
        "bad-request",
        400,
        {"error": "registry.ollama.ai/library/failing:latest does not support tools"},
        errors.BadRequest,
        "does not support tools",
    ),
    Case(
        "ollama",
        "server-error",
        500,
        {"error": "model requires more system memory (9.9 GiB) than is available (3.2 GiB)"},
        errors.ProviderUnavailable,
        "model requires more system memory",
    ),
    Case(
        "ollama",
        "server-error",
        503,
        {"error": "server busy, please try again.  maximum pending requests exceeded"},
        errors.ProviderUnavailable,
        "server busy",
    ),
    Case(
        "ollama",
        "authentication",
        401,
        {"error": "unauthorized"},
        errors.AuthenticationFailed,
        "unauthorized",
    ),
    # -- HuggingFace TGI (its OpenAI route) -------------------------------------------------------
    Case(
        "huggingface",
        "context-window",
        422,
        {
            "error": "Input validation error: `inputs` tokens + `max_new_tokens` must be <= "
            "4096. Given: 4000 `inputs` tokens and 200 `max_new_tokens`",
            "error_type": "validation",
        },
        errors.ContextWindowExceeded,
        "`inputs` tokens + `max_new_tokens` must be <= 4096",
    ),
    Case(
        "huggingface",
        "context-window",
        422,
        {
            "error": "Input validation error: `inputs` must have less than 4096 tokens. "
            "Given: 5012",
            "error_type": "validation",
        },
        errors.ContextWindowExceeded,
        "`inputs` must have less than 4096 tokens",
    ),
    Case(
        "huggingface",
        "bad-request",
        422,
        {
            "error": "Input validation error: `temperature` must be strictly positive",
            "error_type": "validation",
        },
        errors.BadRequest,
        "`temperature` must be strictly positive",
    ),
    Case(
        "huggingface",
        "rate-limit",
        429,
        {"error": "Model is overloaded", "error_type": "overloaded"},
        errors.RateLimited,
        "Model is overloaded",
    ),
    Case(
        "huggingface",
        "generation-failed",
        424,
        {
            "error": "Request failed during generation: Server error: CUDA out of memory. "
            "Tried to allocate 2.00 GiB",
            "error_type": "generation",
        },
        errors.ProviderUnavailable,
        "Request failed during generation",
    ),
    Case(
        "huggingface",
        "server-error",
        500,
        {"error": "Incomplete generation", "error_type": "incomplete_generation"},
        errors.ProviderUnavailable,
        "Incomplete generation",
    ),
    Case(
        "huggingface",
        "server-error",
        503,
        {"error": "Model failing is currently loading", "estimated_time": 20.0},
        errors.ProviderUnavailable,
        "is currently loading",
    ),
    Case(
        "huggingface",
        "payment-required",
        402,
        {
            "error": "You have exceeded your monthly included credits for Inference Providers. "
            "Subscribe to PRO to get 20x more monthly included credits."
        },
        errors.QuotaExceeded,
        "exceeded your monthly included credits",
    ),
    Case(
        "huggingface",
        "authentication",
        401,
        {"error": "Invalid credentials in Authorization header"},
        errors.AuthenticationFailed,
        "Invalid credentials in Authorization header",
    ),
    Case(
        "huggingface",
        "not-found",
        404,
        {"error": "Model meta-llama/Nope-8B-Instruct does not exist"},
        errors.ModelNotFound,
        "does not exist",
    ),
    # -- Cohere /v2/chat (its errors are {"message": ...}) --------------------------------------
    Case(
        "cohere",
        "rate-limit",
        429,
        {
            "message": "You are using a Trial key, which is limited to 10 API calls / minute. "
            "You can continue to use the Trial key for free or upgrade to a Production key "
            "with higher rate limits at 'https://dashboard.cohere.com/api-keys'."
        },
        errors.RateLimited,
        "limited to 10 API calls / minute",
    ),
    Case(
        "cohere",
        "context-window",
        400,
        {
            "message": "too many tokens: size limit exceeded by 1032 tokens. Try using "
            "shorter or fewer inputs, or setting prompt_truncation='AUTO'."
        },
        errors.ContextWindowExceeded,
        "too many tokens",
    ),
    Case(
        "cohere",
        "authentication",
        401,
        {"message": "invalid api token"},
        errors.AuthenticationFailed,
        "invalid api token",
    ),
    Case(
        "cohere",
        "server-error",
        500,
        {"message": "internal server error, this has been reported to our developers"},
        errors.ProviderUnavailable,
        "internal server error",
    ),
]


def policy_data(family: str, base: str) -> dict[str, Any]:
    """``failing`` in the family's protocol; two OpenAI spares, one with the same window."""
    prefix, suffix, key_env = FAMILIES[family]
    prices = {"input_cost_per_1k": "0.001", "output_cost_per_1k": "0.002"}
    failing: dict[str, Any] = {
        "provider": family,
        "litellm_model": f"{prefix}/failing",
        "api_base": base + suffix,
        "context_window": 8192,
        "max_output_tokens": 512,
        **prices,
    }
    if key_env:
        failing["api_key_env"] = key_env

    def spare(name: str, window: int) -> dict[str, Any]:
        return {
            "provider": "openai",
            "litellm_model": f"openai/{name}",
            "api_base": f"{base}/v1",
            "api_key_env": "OPENAI_API_KEY",
            "context_window": window,
            "max_output_tokens": 512,
            **prices,
        }

    return {
        "models": {
            "failing": failing,
            "same-window": spare("same-window", 8192),
            "larger-window": spare("larger-window", 128000),
        },
        "routing_rules": {"default_model": "failing"},
        "retry": {
            "max_attempts_per_model": ATTEMPTS_PER_MODEL,
            "initial_backoff_s": 0,
            "max_backoff_s": 0,
            "fallback_on_content_refusal": True,
        },
    }


STEP = {
    "config_version": 2,
    "prompt": "Reply to {{ customer }}.",
    "model": "failing",
    "fallback_models": ["same-window", "larger-window"],
    "max_tokens": 50,
}
# The failing model with nothing to fall back to: transient errors are retried on it.
ALONE = {**STEP, "fallback_models": [], "policy_fallbacks": False}


class Rig:
    """One family's policy on the simulator, a real SQLite ledger, the engine's breaker."""

    def __init__(self, sim: Simulator, family: str, sqlite_url: str) -> None:
        self.sim = sim
        self.ledger = Ledger(sqlite_url)
        policy = parse_policy(policy_data(family, sim.base_url))
        self.breaker = CircuitBreaker.from_settings(policy.circuit)
        self.quarantines: list[Quarantine] = []
        self.breaker.on_quarantine(self.quarantines.append)
        self.sleeps: list[float] = []
        engine = Engine(
            PolicyStore.fixed(policy), self.ledger, breaker=self.breaker, sleep=self._sleep
        )
        self.executor = AIStepExecutor(engine=engine)
        for name in ("same-window", "larger-window"):
            sim.scenario.models[name] = ModelBehaviour()

    async def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def fail_with(self, status: int, body: Any) -> None:
        self.sim.scenario.models["failing"] = ModelBehaviour(
            outcomes=({"status": status, "body": body},)
        )
        self.sim.reset()

    async def run(self, step: dict[str, Any] = STEP) -> tuple[Any, str]:
        execution = f"exec-{uuid.uuid4().hex[:8]}"
        node = WorkflowNode(id="node-1", type="ai", data=step)
        result = await self.executor.execute_step(
            node, {"customer": "Dana"}, execution_id=execution
        )
        return result, execution


@pytest.fixture
async def rig_for(simulator: Simulator, sqlite_url: str) -> AsyncIterator[Any]:
    made: list[Rig] = []

    def make(family: str) -> Rig:
        made.append(Rig(simulator, family, sqlite_url))
        return made[-1]

    yield make
    for rig in made:
        rig.ledger.close()


@pytest.fixture
def rows_hit(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the table rows ``translate`` picked, in order."""
    hit: list[str] = []
    real = provider_errors.classify

    def spy(*args: Any) -> error_table.ErrorRule:
        rule = real(*args)
        hit.append(rule.name)
        return rule

    monkeypatch.setattr(provider_errors, "classify", spy)
    return hit


def test_every_row_and_every_protocol_has_a_real_body() -> None:
    """The cases cover the table: a new row without a real provider body fails here."""
    answered_rows = {rule.name for rule in error_table.RULES} - {"other"}
    assert {case.row for case in CASES} == answered_rows
    assert {case.family for case in CASES} == set(FAMILIES)
    for case in CASES:  # each case names the row its class comes from
        assert next(r for r in error_table.RULES if r.name == case.row).error is case.expected


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_the_providers_body_decides_the_class(
    rig_for: Any, rows_hit: list[str], case: Case
) -> None:
    rig: Rig = rig_for(case.family)
    rig.fail_with(case.status, case.body)
    result, execution = await rig.run()

    assert result.success, result.error_message
    out = result.output_data
    kind = case.expected.kind
    calls = 1  # transient or not: a fallback fits, so it is tried at once, with no sleep
    assert rig.sim.count("failing") == calls
    assert rig.sleeps == []
    assert rows_hit[:calls] == [case.row] * calls

    failed = [a for a in out["ai_attempts"] if a["model"] == "failing"]
    assert [a["error_type"] for a in failed] == [kind] * calls
    for attempt in failed:  # the provider's own status and words
        assert attempt["error"].startswith(f"failing: HTTP {case.status}"), attempt["error"]
        assert case.words in attempt["error"], attempt["error"]
    rows = rig.ledger.execution_usage(execution)
    assert [r["error_type"] for r in rows if r["model_name"] == "failing"] == [kind] * calls
    assert [r["status"] for r in rows] == ["error"] * calls + ["success"]

    if case.expected is errors.ContextWindowExceeded:  # only a larger window is worth a try
        assert out["ai_model"] == "larger-window"
        assert rig.sim.count("same-window") == 0
    else:
        assert out["ai_model"] == "same-window"
    if case.expected is errors.QuotaExceeded:
        assert [(q.model, q.cooldown_s) for q in rig.quarantines] == [
            ("failing", QUOTA_QUARANTINE_S)
        ]
        assert case.words in rig.quarantines[0].reason
        assert rig.breaker.state("failing") == "open"
    else:
        assert rig.quarantines == []


async def test_a_billing_429_moves_on_at_once_and_quarantines_the_model(rig_for: Any) -> None:
    rig: Rig = rig_for("openai")
    quota = next(c for c in CASES if c.row == "insufficient-quota")
    rig.fail_with(quota.status, quota.body)

    first, _ = await rig.run()
    assert first.success and first.output_data["ai_model"] == "same-window"
    assert rig.sim.count("failing") == 1  # not retried: waiting cannot fix billing
    assert rig.sleeps == []
    assert len(rig.quarantines) == 1  # the alert event
    event = rig.quarantines[0]
    assert event.model == "failing" and event.cooldown_s == QUOTA_QUARANTINE_S >= 3600
    assert event.reason.startswith("quota_exceeded: failing: HTTP 429 (insufficient_quota): ")
    assert rig.breaker.reason("failing") == event.reason

    second, _ = await rig.run()  # later steps skip the model without calling it
    assert second.success
    assert rig.sim.count("failing") == 1
    skipped = {s["model"]: s["reason"] for s in second.output_data["ai_skipped"]}
    assert skipped["failing"].startswith("quarantined: quota_exceeded: failing: HTTP 429")


async def test_a_rate_limit_429_is_still_retried(rig_for: Any) -> None:
    """The contrast: the same status with a rate-limit body is waited out on the same model
    when no other candidate fits, and never quarantined."""
    rig: Rig = rig_for("openai")
    limited = next(c for c in CASES if c.row == "rate-limit" and c.family == "openai")
    rig.fail_with(limited.status, limited.body)
    result, _ = await rig.run(ALONE)
    assert not result.success
    assert rig.sim.count("failing") == ATTEMPTS_PER_MODEL
    assert len(rig.sleeps) == ATTEMPTS_PER_MODEL - 1
    assert rig.quarantines == [] and rig.breaker.state("failing") == "closed"


def test_a_failure_with_no_answer_and_no_status_is_the_last_row(
    rows_hit: list[str],
) -> None:
    """The table's catch-all: an exception with neither an HTTP answer nor a status."""
    failure = provider_errors.translate(RuntimeError("event loop closed"), "m", [])
    assert type(failure) is errors.ProviderUnavailable
    assert rows_hit == ["other"]
    assert str(failure) == "m: event loop closed" and failure.status_code is None


def test_rules_refuse_a_status_they_cannot_match() -> None:
    with pytest.raises(ValueError, match="bad status '4x'"):
        error_table.ErrorRule("broken", "4x", errors.BadRequest, "nobody", "a typo")
