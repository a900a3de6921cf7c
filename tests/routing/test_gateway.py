"""The gateway at the HTTP level with respx, for each provider family through LiteLLM's code.

respx's default mocker patches httpcore, which LiteLLM's production aiohttp transport never
reaches. These tests therefore run LiteLLM on plain httpx (``httpx_transport`` fixture, which
restores the setting) and mock with ``respx.mock(using="httpx")``; the production transport
is covered by ``test_gateway_loopback.py`` against the simulator, and the last test here
proves the difference so it cannot go unnoticed.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from gateway_support import FAKE_KEY, FAMILIES, FAMILIES_WITHOUT_RETRY_AFTER, make_spec, script

from auterity_ai_step import errors
from auterity_ai_step.routing import gateway
from auterity_ai_step.routing.gateway import CompletionRequest, complete, parse_retry_after
from auterity_ai_step.simulator.server import Simulator

BASE = "http://provider.test"
PATHS = {
    "openai": "/v1/chat/completions",
    "ollama": "/api/chat",
    "huggingface": "/v1/chat/completions",
    "anthropic": "/v1/messages",
    "cohere": "/v2/chat",  # LiteLLM posts to a cohere api_base as it is
}
MESSAGES = [{"role": "user", "content": "Hello"}]


def ok_body(family: str, text: str = "Hello back") -> dict[str, Any]:
    if family == "ollama":
        return {
            "model": "m",
            "message": {"role": "assistant", "content": text},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": 11,
            "eval_count": 4,
        }
    if family == "anthropic":
        return {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "m",
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 11, "output_tokens": 4},
        }
    if family == "cohere":
        tokens = {"input_tokens": 11, "output_tokens": 4}
        return {
            "id": "c1",
            "finish_reason": "COMPLETE",
            "message": {"role": "assistant", "content": [{"type": "text", "text": text}]},
            "usage": {"billed_units": tokens, "tokens": tokens},
        }
    return {
        "id": "c1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 11, "completion_tokens": 4, "total_tokens": 15},
    }


def error_body(family: str, message: str) -> dict[str, Any]:
    if family == "ollama":
        return {"error": message}
    if family == "anthropic":
        return {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
    if family == "cohere":
        return {"message": message}
    return {"error": {"message": message, "type": "invalid_request_error"}}


@pytest.fixture
def mock(httpx_transport: Any, fake_keys: str) -> Iterator[respx.MockRouter]:
    with respx.mock(using="httpx", assert_all_called=False) as router:
        yield router


def call(family: str, **kw: Any) -> Any:
    spec = make_spec(family, "m", BASE)
    return complete(CompletionRequest(model=spec, messages=MESSAGES, timeout_s=5.0, **kw))


@pytest.mark.parametrize("family", list(FAMILIES))
async def test_success(mock: respx.MockRouter, family: str) -> None:
    route = mock.post(BASE + PATHS[family]).mock(
        return_value=httpx.Response(200, json=ok_body(family))
    )
    result = await call(family, max_tokens=20)
    assert result.content == "Hello back"
    assert (result.prompt_tokens, result.completion_tokens) == (11, 4)
    assert route.call_count == 1
    sent = route.calls[0].request
    if family != "ollama":
        assert FAKE_KEY in (
            sent.headers.get("authorization", "") + sent.headers.get("x-api-key", "")
        )


@pytest.mark.parametrize("family", ["openai", "anthropic", "huggingface"])
async def test_a_model_without_key_env_never_gets_another_providers_key(
    mock: respx.MockRouter, family: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``api_key_env: null`` means no key: LiteLLM must not fall back to OPENAI_API_KEY etc."""
    real = "sk-real-key-that-must-stay-home-123456"
    for env in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "HUGGINGFACE_API_KEY", "HF_TOKEN"):
        monkeypatch.setenv(env, real)
    route = mock.post(BASE + PATHS[family]).mock(
        return_value=httpx.Response(200, json=ok_body(family))
    )
    spec = make_spec(family, "m", BASE, api_key_env=None)
    result = await complete(CompletionRequest(model=spec, messages=MESSAGES, timeout_s=5.0))
    assert result.content == "Hello back"
    headers = route.calls[0].request.headers
    assert real not in " ".join(headers.values())


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (500, "internal error", errors.ProviderUnavailable),
        (503, "overloaded", errors.ProviderUnavailable),
        (404, "model 'm' not found", errors.ModelNotFound),
        (401, "invalid x-api-key", errors.AuthenticationFailed),
        (400, "This model's maximum context length is 8192 tokens", errors.ContextWindowExceeded),
        (400, "prompt is too long: 210000 tokens > 200000 maximum", errors.ContextWindowExceeded),
        (
            400,
            "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096",
            errors.ContextWindowExceeded,
        ),
        (422, "temperature out of range", errors.BadRequest),
    ],
    ids=lambda v: str(v)[:20],
)
async def test_status_codes_classified_once(
    mock: respx.MockRouter, family: str, status: int, message: str, expected: type[Exception]
) -> None:
    route = mock.post(BASE + PATHS[family]).mock(
        return_value=httpx.Response(status, json=error_body(family, message))
    )
    with pytest.raises(expected) as caught:
        await call(family)
    assert type(caught.value) is expected
    assert route.call_count == 1  # exactly one HTTP request per complete()


@pytest.mark.parametrize("family", list(FAMILIES))
async def test_retry_after_http_date(mock: respx.MockRouter, family: str) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    mock.post(BASE + PATHS[family]).mock(
        return_value=httpx.Response(
            429, json=error_body(family, "slow down"), headers={"Retry-After": when}
        )
    )
    with pytest.raises(errors.RateLimited) as caught:
        await call(family)
    if family in FAMILIES_WITHOUT_RETRY_AFTER:
        assert caught.value.retry_after is None
        return
    assert caught.value.retry_after is not None
    assert 25 <= caught.value.retry_after <= 31


@pytest.mark.parametrize("family", list(FAMILIES))
async def test_malformed_json_body(mock: respx.MockRouter, family: str) -> None:
    mock.post(BASE + PATHS[family]).mock(
        return_value=httpx.Response(
            200, text="{not json", headers={"content-type": "application/json"}
        )
    )
    with pytest.raises(errors.MalformedResponse) as caught:
        await call(family)
    # The provider answered 200 with a body LiteLLM could not parse: LiteLLM's 500 is its own.
    assert caught.value.status_code is None
    assert str(caught.value).startswith(f"{family}-m: ") and "HTTP" not in str(caught.value)


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (httpx.ConnectError("refused"), errors.ProviderUnavailable),
        (httpx.ReadTimeout("slow"), errors.ProviderTimeout),
    ],
    ids=["connect", "timeout"],
)
async def test_transport_errors(
    mock: respx.MockRouter, family: str, raised: Exception, expected: type[Exception]
) -> None:
    route = mock.post(BASE + PATHS[family]).mock(side_effect=raised)
    with pytest.raises(expected) as caught:
        await call(family)
    assert caught.value.status_code is None  # no HTTP answer came
    assert "HTTP" not in str(caught.value)
    # LiteLLM's own HTTP handler (Ollama, Anthropic, Cohere; not the OpenAI SDK, which
    # HuggingFace endpoints go through) reconnects once after a ConnectError, whatever
    # num_retries says; no request reached the provider, so nothing is billed twice.
    reconnects = isinstance(raised, httpx.ConnectError) and family in (
        "ollama",
        "anthropic",
        "cohere",
    )
    assert route.call_count == (2 if reconnects else 1)


async def test_plain_respx_does_not_see_the_production_transport(
    production_transport: Any, fake_keys: str
) -> None:
    async with Simulator() as sim:
        script(sim, "m", "ok", answer="from the simulator")
        spec = make_spec("openai", "m", sim.base_url)
        with respx.mock(assert_all_called=False, assert_all_mocked=False) as router:
            route = router.post(sim.base_url + "/v1/chat/completions").mock(
                return_value=httpx.Response(200, json=ok_body("openai", "from respx"))
            )
            result = await complete(CompletionRequest(model=spec, messages=MESSAGES))
        assert result.content == "from the simulator"
        assert route.call_count == 0 and sim.count("m") == 1


# -- translation details ------------------------------------------------------------------


def test_parse_retry_after() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00") is None  # no zone: unusable
    past = email.utils.formatdate(0, usegmt=True)
    assert parse_retry_after(past) == 0.0
    future = email.utils.formatdate(1000, usegmt=True)
    assert parse_retry_after(future, now=990) == 10.0


class FakeError(Exception):
    def __init__(self, message: str, status: Any = None, headers: Any = None) -> None:
        super().__init__(message)
        self.status_code = status
        if headers is not None:
            self.response = httpx.Response(status or 500, headers=headers)


def translate(exc: BaseException) -> errors.ProviderError:
    return gateway.translate(exc, "m", [FAKE_KEY])


def test_translate_edge_cases() -> None:
    limited = translate(FakeError("slow", 429, {"retry-after-ms": "1500"}))
    assert isinstance(limited, errors.RateLimited) and limited.retry_after == 1.5
    assert translate(FakeError("slow", 429)).retry_after is None  # type: ignore[attr-defined]
    assert isinstance(translate(FakeError("x", "404")), errors.ModelNotFound)
    assert isinstance(translate(FakeError("x", "weird")), errors.ProviderUnavailable)
    assert isinstance(translate(RuntimeError("boom")), errors.ProviderUnavailable)
    assert isinstance(translate(TimeoutError()), errors.ProviderTimeout)
    assert str(translate(TimeoutError())) == "m: request timed out"
    assert isinstance(translate(FakeError("x", 408)), errors.ProviderTimeout)
    timed_out = gateway.translate(TimeoutError(), "m", [], timeout_s=2.0)
    assert str(timed_out) == "m: timed out after 2 s" and timed_out.status_code is None
    noisy = FakeError(
        "litellm.Timeout: APITimeoutError - Request timed out. Error_str: Request timed out. "
        "- timeout value=0.5, time taken=0.51 seconds",
        408,
    )
    assert str(translate(noisy)) == "m: timed out after 0.5 s"
    assert translate(noisy).status_code is None
    refused = translate(
        FakeError("Output blocked by content filtering policy: content_filter", 400)
    )
    assert isinstance(refused, errors.ContentRefused)
    leaky = translate(FakeError(f"bad key {FAKE_KEY} Traceback (most recent call last): ...", 401))
    assert FAKE_KEY not in str(leaky) and "Traceback" not in str(leaky)
    assert len(str(translate(FakeError("x" * 5000, 400)))) < 600


def test_translate_malformed_by_cause() -> None:
    try:
        try:
            json.loads("{")
        except ValueError as inner:
            raise FakeError("wrapped", 500) from inner
    except FakeError as outer:
        assert isinstance(translate(outer), errors.MalformedResponse)
    keyed = FakeError("'content' Traceback (most recent call last): KeyError: 'content'", 500)
    assert isinstance(translate(keyed), errors.MalformedResponse)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (httpx.Response(500, json={"error": "boom"}), errors.ProviderUnavailable),
        (httpx.Response(401, json={"error": "no"}), errors.AuthenticationFailed),
        (httpx.ReadTimeout("slow"), errors.ProviderTimeout),
        (httpx.Response(200, json={"tags": "?"}), errors.MalformedResponse),
        (httpx.Response(200, text="<html>"), errors.ProviderUnavailable),
    ],
    ids=["500", "401", "timeout", "no-list", "not-json"],
)
async def test_ollama_probe_failures(answer: Any, expected: type[Exception]) -> None:
    spec = make_spec("ollama", "llama3", BASE)
    with respx.mock(using="httpx") as router:
        route = router.get(BASE + "/api/tags")
        if isinstance(answer, Exception):
            route.mock(side_effect=answer)
        else:
            route.mock(return_value=answer)
        with pytest.raises(expected):
            await gateway.probe(spec, 1.0)
