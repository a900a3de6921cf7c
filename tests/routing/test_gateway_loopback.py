"""The gateway through LiteLLM's production (aiohttp) transport against the loopback simulator."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from decimal import Decimal
from typing import Any

import pytest
from gateway_support import FAKE_KEY, FAMILIES, FAMILIES_WITHOUT_RETRY_AFTER, make_spec, script

from auterity_ai_step import errors
from auterity_ai_step.routing import gateway
from auterity_ai_step.routing.gateway import CompletionRequest, complete, probe
from auterity_ai_step.simulator.server import Simulator

pytestmark = pytest.mark.usefixtures("production_transport", "fake_keys")

HELLO = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"}]

# (scripted outcome, error class, status_code, the message after "<model>: ").
# ``HTTP <status>`` only when the provider really answered with it: LiteLLM's own 408 for
# its client-side timeout and its 500 for a dropped connection or an unparseable body are
# not statuses anybody answered with, so those messages have none (and status_code None).
ERROR_CASES: list[tuple[Any, type[errors.ProviderError], int | None, str]] = [
    ("500", errors.ProviderUnavailable, 500, r"HTTP 500: \S"),
    ("503", errors.ProviderUnavailable, 503, r"HTTP 503: \S"),
    ("401", errors.AuthenticationFailed, 401, r"HTTP 401: \S"),
    ("403", errors.AuthenticationFailed, 403, r"HTTP 403: \S"),
    ("404", errors.ModelNotFound, 404, r"HTTP 404: \S"),
    ("context_overflow", errors.ContextWindowExceeded, 400, r"HTTP 400: .*maximum context"),
    ("400", errors.BadRequest, 400, r"HTTP 400: \S"),
    (
        {"status": 400, "message": "content_policy_violation: flagged"},
        errors.ContentRefused,
        400,
        r"HTTP 400: .*content_policy_violation: flagged",
    ),
    # A gateway timeout the provider answered with is a status somebody did send.
    ("408", errors.ProviderTimeout, 408, r"HTTP 408: \S"),
    ("504", errors.ProviderTimeout, 504, r"HTTP 504: \S"),
    ("drop", errors.ProviderUnavailable, None, r"(Connection error|Server disconnected)"),
    ("timeout", errors.ProviderTimeout, None, r"timed out after 0\.3 s$"),
    # The parser's complaint, or (Cohere) the start of the body that was not JSON.
    ("malformed", errors.MalformedResponse, None, r"(?!HTTP).*(Expecting value|not JSON)"),
    ("no_choices", errors.MalformedResponse, None, r"(?!HTTP)\S"),
    (
        "empty_length",
        errors.MalformedResponse,
        None,
        r"returned no content before hitting its token limit \(finish_reason=length\)$",
    ),
]


def request(spec: Any, **kw: Any) -> CompletionRequest:
    values: dict[str, Any] = {"messages": HELLO, "max_tokens": 50, "timeout_s": 5.0}
    values.update(kw)
    return CompletionRequest(model=spec, **values)


@pytest.mark.parametrize("family", list(FAMILIES))
async def test_success_uses_provider_usage(simulator: Simulator, family: str) -> None:
    script(simulator, "m", "ok", answer="Hi!", prompt_tokens=17, completion_tokens=3)
    spec = make_spec(family, "m", simulator.base_url)
    result = await complete(request(spec, temperature=0.2))
    assert result.content == "Hi!"
    assert (result.prompt_tokens, result.completion_tokens) == (17, 3)
    assert result.usage_estimated is False
    assert result.finish_reason == "stop"
    assert result.latency_ms > 0
    assert simulator.count("m") == 1


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize(("outcome", "expected", "status", "text"), ERROR_CASES, ids=str)
async def test_errors_are_translated_with_one_request(
    simulator: Simulator,
    family: str,
    outcome: Any,
    expected: type[errors.ProviderError],
    status: int | None,
    text: str,
) -> None:
    script(simulator, "m", outcome, hang_s=3)
    spec = make_spec(family, "m", simulator.base_url)
    with pytest.raises(expected) as caught:
        await complete(request(spec, timeout_s=0.3 if outcome == "timeout" else 5.0))
    assert type(caught.value) is expected
    assert caught.value.model == spec.name
    # No chain: LiteLLM's raw exception can hold the key (the safe details are copied).
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert caught.value.status_code == status
    message = str(caught.value)
    assert re.match(re.escape(f"{spec.name}: ") + text, message), message
    assert simulator.count("m") == 1  # LiteLLM's own retries are off
    assert FAKE_KEY not in message
    # The provider's words, not LiteLLM's nested class names ("litellm.BadRequestError: ...")
    # nor its additions ("Error_str: ...", "Handle with `litellm.InternalServerError`").
    assert not re.search(r": (litellm\.\w+Error|\w+Error: |\w+(Error|Exception) - )", message)
    assert "Error_str" not in message and "Handle with" not in message


@pytest.mark.parametrize("family", list(FAMILIES))
async def test_rate_limit_carries_retry_after(simulator: Simulator, family: str) -> None:
    script(simulator, "m", "429 retry-after=7")
    with pytest.raises(errors.RateLimited) as caught:
        await complete(request(make_spec(family, "m", simulator.base_url)))
    wanted = None if family in FAMILIES_WITHOUT_RETRY_AFTER else 7.0
    assert caught.value.retry_after == wanted
    assert caught.value.retryable
    assert simulator.count("m") == 1


@pytest.mark.parametrize("family", list(FAMILIES))
async def test_timeout_is_short_and_single(simulator: Simulator, family: str) -> None:
    script(simulator, "m", "timeout", hang_s=3)
    with pytest.raises(errors.ProviderTimeout):
        await complete(request(make_spec(family, "m", simulator.base_url), timeout_s=0.3))
    assert simulator.count("m") == 1


async def test_five_hundred_then_success_is_two_calls(simulator: Simulator) -> None:
    script(simulator, "m", "500", "ok")
    spec = make_spec("openai", "m", simulator.base_url)
    with pytest.raises(errors.ProviderUnavailable):
        await complete(request(spec))
    assert simulator.count("m") == 1
    assert (await complete(request(spec))).content
    assert simulator.count("m") == 2


async def test_unknown_model_is_not_found(simulator: Simulator) -> None:
    with pytest.raises(errors.ModelNotFound):
        await complete(request(make_spec("ollama", "never-pulled", simulator.base_url)))


async def test_missing_usage_is_estimated_offline(simulator: Simulator) -> None:
    script(simulator, "m", "ok", usage=False, answer="A fairly short answer.")
    result = await complete(request(make_spec("openai", "m", simulator.base_url)))
    assert result.usage_estimated is True
    assert result.prompt_tokens > 0 and result.completion_tokens > 0


async def test_request_shape(simulator: Simulator) -> None:
    script(simulator, "m", "ok", answer='{"a": 1}')
    await complete(request(make_spec("openai", "m", simulator.base_url), json_mode=True))
    body = simulator.requests[-1].body
    assert body is not None
    assert body["response_format"] == {"type": "json_object"}
    assert body["max_tokens"] == 50
    assert body["messages"][1]["content"] == "Hello there"


async def test_missing_key_refused_without_a_call(
    monkeypatch: pytest.MonkeyPatch, production_transport: Any
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")

    async def no_call(**_: Any) -> None:
        raise AssertionError("LiteLLM must not be called without a key")

    monkeypatch.setattr(production_transport, "acompletion", no_call)
    spec = make_spec("openai", "gpt-4o-mini", "https://api.openai.com")
    with pytest.raises(errors.AuthenticationFailed, match="OPENAI_API_KEY is not set"):
        await complete(request(spec))


async def test_loopback_without_key_gets_a_placeholder(
    simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    script(simulator, "m", "ok")
    assert (await complete(request(make_spec("anthropic", "m", simulator.base_url)))).content


async def test_ollama_needs_no_key(simulator: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_KEY", raising=False)
    script(simulator, "m", "ok")
    spec = make_spec("ollama", "m", simulator.base_url, api_key_env="OLLAMA_KEY")
    assert (await complete(request(spec))).content


async def test_secret_echoed_by_provider_is_redacted(simulator: Simulator) -> None:
    echo = {"status": 401, "message": f"Incorrect API key provided: {FAKE_KEY}."}
    script(simulator, "m", echo)
    with pytest.raises(errors.AuthenticationFailed) as caught:
        await complete(request(make_spec("openai", "m", simulator.base_url)))
    assert FAKE_KEY not in str(caught.value)
    assert FAKE_KEY not in repr(caught.value)
    assert FAKE_KEY[-8:] not in str(caught.value)


async def test_hard_timeout_when_litellm_hangs(
    monkeypatch: pytest.MonkeyPatch, production_transport: Any, simulator: Simulator
) -> None:
    import asyncio

    async def hang(**_: Any) -> None:
        await asyncio.sleep(10)

    monkeypatch.setattr(production_transport, "acompletion", hang)
    monkeypatch.setattr(gateway, "_GRACE_S", 0.05)
    with pytest.raises(errors.ProviderTimeout) as caught:
        await complete(request(make_spec("openai", "m", simulator.base_url), timeout_s=0.05))
    assert str(caught.value) == "openai-m: timed out after 0.05 s"
    assert caught.value.status_code is None


# -- probe -------------------------------------------------------------------------------


async def test_probe_ollama_uses_tags(simulator: Simulator) -> None:
    script(simulator, "llama3", "500")  # a completion would fail; tags do not
    latency = await probe(make_spec("ollama", "llama3", simulator.base_url), 2.0)
    assert latency > 0
    assert simulator.count("llama3") == 0
    assert simulator.requests[-1].path == "/api/tags"


async def test_probe_ollama_model_not_pulled(simulator: Simulator) -> None:
    script(simulator, "llama3", "ok")
    with pytest.raises(errors.ModelNotFound):
        await probe(make_spec("ollama", "mistral", simulator.base_url), 2.0)


async def test_probe_ollama_unreachable() -> None:
    sim = Simulator()
    base = await sim.start()
    await sim.stop()
    with pytest.raises(errors.ProviderUnavailable):
        await probe(make_spec("ollama", "m", base), 1.0)


@pytest.mark.parametrize("family", ["openai", "huggingface", "anthropic"])
async def test_probe_one_token(simulator: Simulator, family: str) -> None:
    script(simulator, "m", "empty_length", "503")
    spec = make_spec(family, "m", simulator.base_url)
    assert await probe(spec, 2.0) > 0  # a truncated 1-token answer still proves it is up
    with pytest.raises(errors.ProviderUnavailable):
        await probe(spec, 2.0)
    body = simulator.requests[0].body
    assert body is not None and body["max_tokens"] == 1


# -- offline helpers ---------------------------------------------------------------------


def test_count_tokens_offline_and_cached() -> None:
    spec = make_spec("openai", "gpt-4o-mini", "http://127.0.0.1:1")
    first = gateway.count_tokens(spec, HELLO)
    assert first > 3
    assert gateway.count_tokens(spec, HELLO) == first
    unknown = make_spec("huggingface", "meta-llama/Llama-3.1-8B-Instruct", "http://127.0.0.1:1")
    assert gateway.count_tokens(unknown, HELLO) > 3  # default tokenizer, no download


def test_litellm_price() -> None:
    known = make_spec("openai", "gpt-4o-mini", "http://127.0.0.1:1")
    assert gateway.litellm_price(known) == (Decimal("0.000150"), Decimal("0.000600"))
    bare = make_spec("openai", "x", "http://127.0.0.1:1", litellm_model="gpt-4o-mini")
    assert gateway.litellm_price(bare) == gateway.litellm_price(known)
    assert gateway.litellm_price(make_spec("ollama", "no-such-model-x", "")) is None


async def test_registered_models_have_no_litellm_price(simulator: Simulator) -> None:
    script(simulator, "priced-by-us", "ok")
    spec = make_spec("openai", "priced-by-us", simulator.base_url, input_cost_per_1k=Decimal(1))
    await complete(request(spec))
    assert gateway.litellm_price(spec) is None


def test_litellm_is_imported_lazily() -> None:
    code = textwrap.dedent(
        """
        import sys
        from auterity_ai_step.routing import gateway
        from auterity_ai_step.contract.policy import ModelSpec
        assert "litellm" not in sys.modules, "imported at module import"
        assert not gateway.is_litellm_loaded()
        spec = ModelSpec(name="m", provider="openai", litellm_model="openai/gpt-4o-mini",
                         context_window=1000, max_output_tokens=10, quality=5)
        assert gateway.count_tokens(spec, [{"role": "user", "content": "hi"}]) > 0
        assert "litellm" in sys.modules and gateway.is_litellm_loaded()
        import os
        assert os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"
        """
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "LITELLM_LOCAL_MODEL_COST_MAP"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0, done.stderr
