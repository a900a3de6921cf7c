"""The in-process fake gateway answers as the real one does, so tests above it prove the same.

Each outcome is played twice: by the simulator behind the real gateway (LiteLLM's
production transport, loopback HTTP) and by ``ScriptedGateway``. The results must agree
field by field; the errors must be the same class, status, retry hint and (for an HTTP
answer or a timeout) the same message. Provider families differ in their error bodies, so
each family is compared.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
from gateway_support import FAMILIES, make_spec, script

from auterity_ai_step import errors
from auterity_ai_step.routing import gateway
from auterity_ai_step.routing.fake_gateway import (
    FunctionGateway,
    ScriptedGateway,
    answer,
    approx_tokens,
    outcome,
)
from auterity_ai_step.routing.gateway import CompletionRequest, CompletionResult
from auterity_ai_step.simulator.server import Simulator

pytestmark = pytest.mark.usefixtures("production_transport", "fake_keys")

HELLO = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"}]
# Outcomes whose message the fake repeats word for word; the rest agree on the class.
SAME_WORDS = ["500", "503", "401", "404", "400", "429 retry-after=2", "context_overflow"]
SAME_CLASS = ["timeout", "drop", "malformed", "empty_length"]
COMPARED_FIELDS = ("content", "finish_reason", "prompt_tokens", "completion_tokens")


def _request(spec: Any, timeout_s: float = 20.0) -> CompletionRequest:
    return CompletionRequest(model=spec, messages=HELLO, max_tokens=50, timeout_s=timeout_s)


async def _outcome(call: Any, request: CompletionRequest) -> CompletionResult | Exception:
    try:
        return await call(request)
    except errors.ProviderError as exc:
        return exc


def _error_facts(exc: Any) -> tuple[Any, ...]:
    return type(exc), exc.status_code, getattr(exc, "retry_after", None), exc.retryable


@pytest.mark.parametrize("family", ["openai", "anthropic", "ollama"])
async def test_an_answer_is_the_same_result(simulator: Simulator, family: str) -> None:
    script(simulator, "m", "ok")
    spec = make_spec(family, "m", simulator.base_url)
    real = await gateway.complete(_request(spec))
    fake = await ScriptedGateway({spec.name: ["ok"]}).complete(_request(spec))
    assert type(fake) is type(real)
    for name in COMPARED_FIELDS:
        assert getattr(fake, name) == getattr(real, name), name
    assert fake.usage_estimated is real.usage_estimated is False


@pytest.mark.parametrize("family", ["openai", "anthropic", "ollama", "huggingface"])
@pytest.mark.parametrize("scripted", SAME_WORDS + SAME_CLASS)
async def test_a_failure_is_the_same_error(
    simulator: Simulator, family: str, scripted: str
) -> None:
    script(simulator, "m", scripted, hang_s=2)
    spec = make_spec(family, "m", simulator.base_url)
    timeout_s = 0.3 if scripted == "timeout" else 20.0
    real = await _outcome(gateway.complete, _request(spec, timeout_s))
    fake = await _outcome(
        ScriptedGateway({spec.name: [scripted]}).complete, _request(spec, timeout_s)
    )
    assert isinstance(real, errors.ProviderError), real
    assert isinstance(fake, errors.ProviderError), fake
    if scripted == "drop":  # LiteLLM may report a dropped connection as malformed or gone
        assert type(fake) is errors.ProviderUnavailable
        assert type(real) in (errors.ProviderUnavailable, errors.MalformedResponse)
        return
    assert _error_facts(fake) == _error_facts(real)
    assert fake.model == real.model == spec.name
    if scripted in SAME_WORDS:
        assert str(fake) == str(real)
    assert fake.__cause__ is None and fake.__context__ is None


async def test_an_unknown_model_is_the_same_404(simulator: Simulator) -> None:
    spec = make_spec("openai", "nobody", simulator.base_url)
    real = await _outcome(gateway.complete, _request(spec))
    fake = await _outcome(ScriptedGateway(default=None).complete, _request(spec))
    assert _error_facts(fake) == _error_facts(real) == (errors.ModelNotFound, 404, None, False)
    assert str(fake) == str(real)


async def test_scripts_play_in_order_then_cycle_and_count_calls() -> None:
    spec = make_spec("openai", "m", "http://127.0.0.1:9")
    fake = ScriptedGateway({spec.name: [500, "ok"]})
    seen = [type(await _outcome(fake.complete, _request(spec))).__name__ for _ in range(3)]
    assert seen == ["ProviderUnavailable", "CompletionResult", "ProviderUnavailable"]
    assert fake.count(spec.name) == fake.count() == 3
    fake.reset()
    assert fake.count() == 0
    with pytest.raises(errors.ProviderUnavailable):
        await fake.complete(_request(spec))  # the script starts over after a reset
    with pytest.raises(ValueError, match="unknown fake gateway outcome 'teapot'"):
        outcome("teapot")


async def test_a_function_gateway_may_answer_sync_or_async() -> None:
    spec = make_spec("openai", "m", "http://127.0.0.1:9")

    async def slow(request: CompletionRequest) -> CompletionResult:
        await asyncio.sleep(0)
        return dataclasses.replace(answer("late")(request), latency_ms=5.0)  # type: ignore[type-var]

    assert (await FunctionGateway(answer(str.upper)).complete(_request(spec))).content.startswith(
        "BE BRIEF."
    )
    late = await FunctionGateway(slow).complete(_request(spec))
    assert (late.content, late.latency_ms) == ("late", 5.0)
    assert late.prompt_tokens == approx_tokens("Be brief.\nHello there")


def test_every_family_the_fake_is_compared_on_is_a_gateway_family() -> None:
    assert {"openai", "anthropic", "ollama", "huggingface"} <= set(FAMILIES)
