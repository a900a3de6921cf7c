"""A provider that echoes the key back, in any common encoding, never gets it into our output.

Real-looking keys are set in each provider's environment variable; the loopback provider
answers 401 with the key in its error body as is, base64-encoded (alone and inside a Basic
credential), reversed, spaced out, hex- and percent-encoded and upper-cased. Neither the
translated error (nor anything it holds on to), nor the step's ``error_message`` and
``ai_attempts``, nor the ledger may show any of these forms.
"""

from __future__ import annotations

import base64
import secrets
import traceback
import uuid
from typing import Any
from urllib.parse import quote

import pytest
from gateway_support import FAMILIES, make_spec, script

from auterity_ai_step import AIStepExecutor, WorkflowNode, errors
from auterity_ai_step.contract.policy import parse_policy
from auterity_ai_step.core.engine import Engine
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.routing.gateway import CompletionRequest, complete
from auterity_ai_step.simulator.server import Simulator
from auterity_ai_step.store.ledger import Ledger

pytestmark = pytest.mark.usefixtures("production_transport")

# Built at run time, shaped like each provider's keys ("/" and "+" make percent-encoding
# and base64 differ from the plain text).
KEYS = {
    "OPENAI_API_KEY": "sk-proj-" + secrets.token_urlsafe(36),
    "ANTHROPIC_API_KEY": "sk-ant-api03-" + secrets.token_urlsafe(40),
    "HUGGINGFACE_API_KEY": "hf_" + secrets.token_hex(17),
    "OLLAMA_API_KEY": "ollama/" + secrets.token_hex(12) + "+" + secrets.token_hex(6),
    "COHERE_API_KEY": secrets.token_urlsafe(30),
}
FAMILY_KEY = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
FAMILY_KEY |= {"huggingface": "HUGGINGFACE_API_KEY", "ollama": "OLLAMA_API_KEY"}
FAMILY_KEY |= {"cohere": "COHERE_API_KEY"}


def encodings(key: str) -> dict[str, str]:
    raw = key.encode()
    return {
        "plain": key,
        "base64": base64.b64encode(raw).decode(),
        "base64url": base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "basic-auth": base64.b64encode(b"api:" + raw).decode(),
        "bearer-base64": base64.b64encode(b"Bearer " + raw).decode(),
        "reversed": key[::-1],
        "spaced": " ".join(key),
        "dashed": "-".join(key),
        "hex": raw.hex(),
        "percent": quote(key, safe=""),
        "upper": key.upper(),
    }


def leaks(text: str, key: str) -> list[str]:
    """The encodings of ``key`` (and long pieces of it) that ``text`` still shows."""
    found = [name for name, form in encodings(key).items() if form in text]
    found += [
        f"piece {key[i : i + 12]!r}" for i in range(0, len(key) - 12, 6) if key[i : i + 12] in text
    ]
    return found


def echo_body(family: str, key: str) -> Any:
    words = "; ".join(f"{name}={form}" for name, form in encodings(key).items())
    message = f"Invalid key. We received: {words}"
    if family == "anthropic":
        return {"type": "error", "error": {"type": "authentication_error", "message": message}}
    if family == "openai":
        return {"error": {"message": message, "type": "invalid_request_error", "code": None}}
    return {"error": message}


def chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in out:
        out.append(current)
        current = current.__cause__ or current.__context__
    return out


@pytest.fixture
def real_keys(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for env, key in KEYS.items():
        monkeypatch.setenv(env, key)
    return KEYS


def test_the_echo_really_holds_the_key() -> None:
    """Guard: the body carries every encoding, so the tests below can fail."""
    for family, env in FAMILY_KEY.items():
        assert len(leaks(str(echo_body(family, KEYS[env])), KEYS[env])) >= len(encodings("x"))


@pytest.mark.parametrize("family", list(FAMILIES))
async def test_the_gateway_error_holds_no_form_of_the_key(
    simulator: Simulator, real_keys: dict[str, str], family: str
) -> None:
    env = FAMILY_KEY[family]
    key = real_keys[env]
    script(simulator, "m", {"status": 401, "body": echo_body(family, key)})
    spec = make_spec(family, "m", simulator.base_url, api_key_env=env)
    with pytest.raises(errors.AuthenticationFailed) as caught:
        await complete(CompletionRequest(model=spec, messages=[{"role": "user", "content": "hi"}]))
    failure = caught.value
    assert simulator.count("m") == 1
    assert "Invalid key. We received" in str(failure)  # the provider's words stay
    assert chain(failure) == [failure]  # LiteLLM's raw exception is not kept
    assert leaks(str(failure) + repr(failure) + repr(vars(failure)), key) == []
    # Error reporters record each traceback frame's locals: none of ours may hold the key.
    ours = [
        frame
        for frame, _ in traceback.walk_tb(failure.__traceback__)
        if "auterity_ai_step" in frame.f_code.co_filename
    ]
    assert ours, "the traceback shows where the error was raised"
    for frame in ours:
        assert leaks(repr(frame.f_locals), key) == [], frame.f_code.co_name


@pytest.mark.parametrize("family", list(FAMILIES))
async def test_the_step_output_and_ledger_hold_no_form_of_the_key(
    simulator: Simulator, real_keys: dict[str, str], family: str, sqlite_url: str
) -> None:
    env = FAMILY_KEY[family]
    key = real_keys[env]
    prefix, suffix, _ = FAMILIES[family]
    policy = parse_policy(
        {
            "models": {
                "echo": {
                    "provider": family,
                    "litellm_model": f"{prefix}/echo",
                    "api_base": simulator.base_url + suffix,
                    "api_key_env": env,
                    "context_window": 8192,
                    "input_cost_per_1k": "0.001",
                    "output_cost_per_1k": "0.002",
                }
            },
            "routing_rules": {"default_model": "echo"},
        }
    )
    script(simulator, "echo", {"status": 401, "body": echo_body(family, key)})
    ledger = Ledger(sqlite_url)
    try:
        executor = AIStepExecutor(engine=Engine(PolicyStore.fixed(policy), ledger))
        execution = f"exec-{uuid.uuid4().hex[:8]}"
        node = WorkflowNode(id="n", type="ai", data={"config_version": 2, "prompt": "Hi"})
        result = await executor.execute_step(node, {}, execution_id=execution)
        rows = ledger.execution_usage(execution)
    finally:
        ledger.close()
    assert not result.success
    assert "Invalid key. We received" in (result.error_message or "")
    assert result.output_data["ai_attempts"][0]["error_type"] == "authentication"
    shown = f"{result.error_message} {result.output_data} {rows}"
    assert leaks(shown, key) == []
