"""One call to one model as data: the request, the result, and the gateway between them.

The engine, the real gateway (LiteLLM) and the in-process fakes (``fake_gateway``) share
these types, so none of them needs LiteLLM to name a call. :func:`completion_result` reads
an OpenAI-shaped answer (what LiteLLM returns for every provider) into a result; it is
plain attribute reading, with the token counter passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import MalformedResponse

if TYPE_CHECKING:
    from ..contract.policy import ModelSpec

__all__ = ["CompletionRequest", "CompletionResult", "Gateway", "completion_result"]

TokenCounter = Callable[["ModelSpec", Sequence[Mapping[str, str]]], int]


@dataclass(frozen=True)
class CompletionRequest:
    """One call to one model; ``timeout_s`` bounds the whole call."""

    model: ModelSpec
    messages: Sequence[Mapping[str, str]]
    temperature: float | None = None
    max_tokens: int | None = None
    timeout_s: float = 30.0
    json_mode: bool = False


@dataclass(frozen=True)
class CompletionResult:
    """The answer; tokens are the provider's ``usage`` unless ``usage_estimated``."""

    content: str
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    usage_estimated: bool = False
    response_model: str | None = None  # the model the provider says answered


class Gateway(Protocol):
    """What the engine calls for one attempt: this module itself, or an in-process fake
    (``fake_gateway``) that answers the same requests with the same results and errors."""

    async def complete(self, request: CompletionRequest) -> CompletionResult: ...


def completion_result(
    response: Any,
    request: CompletionRequest,
    latency_ms: float,
    *,
    allow_truncated: bool,
    count_tokens: TokenCounter,
) -> CompletionResult:
    """The result of an OpenAI-shaped answer; ``MalformedResponse`` when it has no choices,
    or no content before its token limit (unless ``allow_truncated``, as a probe allows).
    Usage the provider left out is counted with ``count_tokens`` and marked estimated."""
    name = request.model.name
    choices = getattr(response, "choices", None)
    if not choices:
        raise MalformedResponse(f"{name}: answered without choices", model=name)
    choice = choices[0]
    message = getattr(choice, "message", None)
    content = getattr(message, "content", None) or ""
    finish = getattr(choice, "finish_reason", None)
    if not content and finish == "length" and not allow_truncated:
        raise MalformedResponse(
            f"{name}: returned no content before hitting its token limit (finish_reason=length)",
            model=name,
        )
    usage = getattr(response, "usage", None)
    prompt = getattr(usage, "prompt_tokens", None)
    completion = getattr(usage, "completion_tokens", None)
    estimated = not isinstance(prompt, int) or not isinstance(completion, int) or prompt <= 0
    if estimated:
        prompt = count_tokens(request.model, request.messages)
        completion = count_tokens(request.model, [{"role": "assistant", "content": content}])
    assert isinstance(prompt, int) and isinstance(completion, int)
    answered = getattr(response, "model", None)
    return CompletionResult(
        content=content,
        finish_reason=finish,
        prompt_tokens=prompt,
        completion_tokens=completion,
        latency_ms=latency_ms,
        usage_estimated=estimated,
        response_model=answered if isinstance(answered, str) else None,
    )
