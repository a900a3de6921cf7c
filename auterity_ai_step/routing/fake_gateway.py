"""In-process stand-ins for the gateway, for tests of the logic above it.

Like httpx's ``MockTransport`` and pydantic-ai's ``FunctionModel``: the engine sends a
:class:`~.completion.CompletionRequest` and gets back the same
:class:`~.completion.CompletionResult`, or the same translated
:class:`~auterity_ai_step.errors.ProviderError`, that the real
gateway gives for the same provider answer (the HTTP error classes and messages come from
the same error table, through :func:`.provider_errors.answer_error`). No LiteLLM call, no
HTTP: a test of fallback order, budgets or the ledger runs in microseconds per attempt.
``tests/routing/test_fake_gateway.py`` holds both against the loopback simulator, so the
fake cannot drift from the real path.

* :class:`FunctionGateway` answers every request with one handler
  ``(CompletionRequest) -> CompletionResult`` (which may raise a ``ProviderError``).
* :class:`ScriptedGateway` plays each model's outcomes in order, then cycles them, like
  the simulator: ``"ok"``, an HTTP status (``500``, ``"429 retry-after=2"``),
  ``"context_overflow"``, ``"timeout"``, ``"drop"``, ``"malformed"``, ``"empty_length"``, or
  any handler.

Usage::

    fake = ScriptedGateway({"gpt-4o-mini": [500, "ok"]})
    engine = Engine(PolicyStore.fixed(policy), ledger, gateway=fake)
"""

from __future__ import annotations

import inspect
import itertools
import math
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence

from ..errors import MalformedResponse, ProviderUnavailable
from .completion import CompletionRequest, CompletionResult
from .provider_errors import ProviderAnswer, answer_error, timed_out

__all__ = [
    "DEFAULT_ANSWER",
    "FunctionGateway",
    "Handler",
    "ScriptedGateway",
    "answer",
    "approx_tokens",
    "http_error",
    "outcome",
]

Handler = Callable[[CompletionRequest], CompletionResult | Awaitable[CompletionResult]]
"""Answers one request: a result, or raises the ``ProviderError`` the real gateway would."""

#: What a scripted model answers by default (the simulator's answer).
DEFAULT_ANSWER = "Simulated answer."
#: What a provider says when the prompt does not fit (the simulator's words).
CONTEXT_MESSAGE = (
    "This model's maximum context length is 4096 tokens. However, your messages resulted "
    "in more tokens. Please reduce the length of the messages."
)
_STATUS = re.compile(r"^(\d{3})(?:\s+retry-after=(\S+))?$")


def approx_tokens(text: str) -> int:
    """The simulator's token count: about four characters a token, at least one."""
    return max(1, math.ceil(len(text) / 4))


def _prompt_text(request: CompletionRequest) -> str:
    return "\n".join(str(m.get("content", "")) for m in request.messages)


def answer(
    content: str | Callable[[str], str] = DEFAULT_ANSWER,
    *,
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
    finish_reason: str = "stop",
    latency_ms: float = 1.0,
) -> Handler:
    """A handler that answers ``content`` (or ``content(prompt)``); tokens as the simulator
    reports them unless given."""

    def handle(request: CompletionRequest) -> CompletionResult:
        prompt = _prompt_text(request)
        text = content(prompt) if callable(content) else content
        return CompletionResult(
            content=text,
            finish_reason=finish_reason,
            prompt_tokens=approx_tokens(prompt) if prompt_tokens is None else prompt_tokens,
            completion_tokens=(
                approx_tokens(text or " ") if completion_tokens is None else completion_tokens
            ),
            latency_ms=latency_ms,
        )

    return handle


def _raise_http(
    request: CompletionRequest, status: int, words: str, retry_after: str | None = None
) -> CompletionResult:
    """Raise what the gateway raises for an HTTP error answer with these words."""
    headers = {"retry-after": retry_after} if retry_after is not None else {}
    raise answer_error(request.model.name, ProviderAnswer(status, (str(status),), words, headers))


def http_error(status: int, words: str, retry_after: str | None = None) -> Handler:
    """A handler raising what the gateway raises for this HTTP error answer (its words)."""
    return lambda request: _raise_http(request, status, words, retry_after)


def _raise_timeout(request: CompletionRequest) -> CompletionResult:
    raise timed_out(request.model.name, request.timeout_s)


def _raise_dropped(request: CompletionRequest) -> CompletionResult:
    name = request.model.name
    raise ProviderUnavailable(f"{name}: connection dropped before an answer", model=name)


def _raise_malformed(request: CompletionRequest) -> CompletionResult:
    name = request.model.name
    raise MalformedResponse(f"{name}: answered with a body that is not JSON", model=name)


def _raise_empty_length(request: CompletionRequest) -> CompletionResult:
    name = request.model.name
    raise MalformedResponse(
        f"{name}: returned no content before hitting its token limit (finish_reason=length)",
        model=name,
    )


def _unknown_model(request: CompletionRequest) -> CompletionResult:
    wanted = request.model.litellm_model.partition("/")[2] or request.model.litellm_model
    return _raise_http(request, 404, f"model '{wanted}' not found")


_NAMED: dict[str, Handler] = {
    "ok": answer(),
    "timeout": _raise_timeout,
    "drop": _raise_dropped,
    "malformed": _raise_malformed,
    "empty_length": _raise_empty_length,
    "context_overflow": http_error(400, CONTEXT_MESSAGE),
}


def outcome(value: str | int | Handler) -> Handler:
    """A handler from the simulator's outcome words: ``"ok"``, ``500``,
    ``"429 retry-after=2"``, ``"timeout"``, ``"drop"``, ``"malformed"``, ``"empty_length"``,
    ``"context_overflow"``; a handler is returned as is."""
    if callable(value):
        return value
    text = str(value).strip().lower()
    if text in _NAMED:
        return _NAMED[text]
    status = _STATUS.match(text)
    if status is None:
        raise ValueError(f"unknown fake gateway outcome {value!r}; use one of {sorted(_NAMED)}")
    code = int(status[1])
    return http_error(code, f"simulated error {code}", status[2])


class FunctionGateway:
    """A gateway whose every call is answered by ``handler``; requests are kept in order."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self.requests: list[CompletionRequest] = []
        self.counts: Counter[str] = Counter()

    def count(self, model: str | None = None) -> int:
        """Calls made to ``model`` (all models when None)."""
        return len(self.requests) if model is None else self.counts[model]

    async def complete(self, request: CompletionRequest) -> CompletionResult:
        """One call, as :func:`.gateway.complete`: a result or a ``ProviderError``."""
        self.requests.append(request)
        self.counts[request.model.name] += 1
        result = self._handler(request)
        if inspect.isawaitable(result):
            return await result
        return result


class ScriptedGateway(FunctionGateway):
    """Per model name, outcomes played in order and then cycled (the simulator's way).

    A model with no script gets ``default`` (``"ok"``; None: the provider does not know the
    model, a 404 as the real gateway translates it).
    """

    def __init__(
        self,
        scripts: Mapping[str, Sequence[str | int | Handler]] | None = None,
        *,
        default: str | int | Handler | None = "ok",
    ) -> None:
        super().__init__(self._play)
        self._default = _unknown_model if default is None else outcome(default)
        self._scripts: dict[str, tuple[Handler, ...]] = {}
        self._streams: dict[str, Iterator[Handler]] = {}
        self._cycle: dict[str, bool] = {}
        for model, outcomes in (scripts or {}).items():
            self.script(model, *outcomes)

    def script(self, model: str, *outcomes: str | int | Handler, cycle: bool = True) -> None:
        """Give ``model`` these outcomes from its next call on (``"ok"`` when none); with
        ``cycle=False`` the last one repeats instead."""
        self._scripts[model] = tuple(outcome(o) for o in outcomes) or (answer(),)
        self._cycle[model] = cycle
        self._streams.pop(model, None)

    def reset(self) -> None:
        """Forget the calls made and restart every model's outcomes."""
        self.requests.clear()
        self.counts.clear()
        self._streams.clear()

    def _play(self, request: CompletionRequest) -> CompletionResult | Awaitable[CompletionResult]:
        name = request.model.name
        script = self._scripts.get(name)
        if script is None:
            return self._default(request)
        stream = self._streams.get(name)
        if stream is None:
            played = (
                itertools.cycle(script)
                if self._cycle[name]
                else itertools.chain(script, itertools.repeat(script[-1]))
            )
            stream = self._streams[name] = played
        return next(stream)(request)
