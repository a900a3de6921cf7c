"""Translating LiteLLM's (and the transport's) exceptions into our ``ProviderError`` tree.

A provider that answered with an HTTP error is judged by its own answer, read from the
exception chain (the HTTP response LiteLLM wraps, innermost first): its status, its error
code or type and its message, looked up in the error table (``error_table.RULES``).
LiteLLM's own view is not trusted for this: it rewrites statuses (Anthropic's 529 becomes
500), leaves the words out ("Error code: 422" for a TGI body) and misclassifies some.

Without an HTTP answer (a timeout on our side, a dropped connection, a body LiteLLM could
not parse) there is no provider status: LiteLLM invents 408 and 500 for those, so the
message carries no ``HTTP <status>`` and ``status_code`` is None.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import (
    MalformedResponse,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    redact,
)
from .error_table import classify

__all__ = [
    "ProviderAnswer",
    "answer_error",
    "parse_retry_after",
    "read_answer",
    "timed_out",
    "translate",
]

_MALFORMED_HINTS = (
    "expecting value",
    "unable to get json response",
    "no 'choices'",
    "jsondecodeerror",
    "invalid json",
)
_MALFORMED_CAUSES = (json.JSONDecodeError, KeyError, IndexError, TypeError)
_MAX_MESSAGE = 500
# How much of a provider's body is read for its words (a hostile one can be huge).
_MAX_BODY = 4000
# Classes whose ``response`` is the provider's real HTTP answer: httpx's (LiteLLM's own
# handler raises a subclass) and the provider SDKs'. LiteLLM's exception classes also
# derive from the openai SDK's, but carry a response LiteLLM made up (500 for a dropped
# connection), so theirs never count.
_HTTP_ERROR = "HTTPStatusError"
_SDK_ERROR = "APIStatusError"
_TAG = re.compile(r"<[^>]*>")
# Error types that only restate the status (OpenAI's and Anthropic's): a message names a
# code only when it says more (insufficient_quota, context_length_exceeded, validation).
_GENERAL_CODES = frozenset(
    {
        "error",
        "invalid_request_error",
        "authentication_error",
        "permission_error",
        "not_found_error",
        "request_too_large",
        "rate_limit_error",
        "billing_error",
        "timeout_error",
        "api_error",
        "server_error",
        "overloaded_error",
    }
)
# What a code may hold in a message: a provider's identifier, nothing more.
_CODE = re.compile(r"[^A-Za-z0-9_.\-]")
# "litellm.RateLimitError: RateLimitError: OpenAIException - <the provider's words>"
# LiteLLM nests its class names ("litellm.ContextWindowExceededError: litellm.BadRequestError:
# ContextWindowExceededError: OpenAIException - ...", "OllamaException: litellm.Timeout: ...",
# "AnthropicError - ...", "Timeout Error: OpenAIException - ..."): strip them all, keep the
# provider's words.
_LITELLM_PREFIX = re.compile(
    r"^(?:(?:litellm\.\w+|\w+(?:Error|Exception)(?: Timeout)?|Timeout Error)\s*[-:]\s*)*"
)
# LiteLLM's own additions after the provider's words: "... Error_str: <repeat> - timeout
# value=0.5, time taken=0.51 seconds" and ". Handle with `litellm.InternalServerError`."
_LITELLM_NOISE = re.compile(r"\s*(?:Error_str:.*|\.?\s*Handle with `litellm\.\w+`\.?)$", re.DOTALL)
_TIMEOUT_VALUE = re.compile(r"(?:timeout value|Timeout passed)=(\d+(?:\.\d+)?)")
# Failures that happen before or instead of an HTTP answer (class names along the chain).
_NO_ANSWER_CAUSES = frozenset(
    {
        "APIConnectionError",
        "ConnectError",
        "ConnectTimeout",
        "ReadError",
        "WriteError",
        "RemoteProtocolError",
        "ServerDisconnectedError",
        "ClientConnectorError",
        "ClientOSError",
        "ConnectionError",
        "ConnectionResetError",
        "ConnectionRefusedError",
    }
)


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status
    if isinstance(status, str) and status.isdigit():
        return int(status)
    if type(exc).__name__ == "HTTPStatusError":  # httpx, from the Ollama probe
        code = getattr(getattr(exc, "response", None), "status_code", None)
        return code if isinstance(code, int) else None
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and its causes/contexts, outermost first, each once."""
    found: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


@dataclass(frozen=True)
class ProviderAnswer:
    """A provider's own HTTP error answer: status, error code/type, words (unredacted)."""

    status: int
    codes: tuple[str, ...]
    words: str
    headers: Mapping[str, Any]


def _is_answer(link: BaseException) -> bool:
    names = {cls.__name__ for cls in type(link).__mro__}
    if _HTTP_ERROR in names:
        return True
    return _SDK_ERROR in names and not type(link).__module__.startswith("litellm")


def _body_text(link: BaseException, response: Any) -> Any:
    try:
        text = response.text
    except Exception:  # a streamed body never read, a broken encoding
        text = ""
    if not text:
        return getattr(link, "body", None)
    text = str(text)[:_MAX_BODY]
    try:
        return json.loads(text)
    except ValueError:
        return text


def _said_in(body: Any) -> tuple[tuple[str, ...], str]:
    """(codes, message) from the error body shapes of OpenAI, Anthropic, Ollama and TGI."""
    if isinstance(body, str):
        return (), " ".join(_TAG.sub(" ", body).split())
    if not isinstance(body, Mapping):
        return (), ""
    inner = body.get("error")
    if isinstance(inner, Mapping):  # OpenAI, Anthropic: {"error": {"message", "code", "type"}}
        found = [inner.get("code"), inner.get("type")]
        message = inner.get("message")
    elif isinstance(inner, str):  # Ollama, TGI: {"error": "...", "error_type": "..."}
        found, message = [body.get("error_type")], inner
    else:  # the openai SDK's .body (the inner object), or {"message": ...}, {"detail": ...}
        found = [body.get("code"), body.get("type")]
        message = body.get("message") or body.get("detail")
    codes = tuple(str(c) for c in found if c not in (None, "", "error"))
    return codes, message if isinstance(message, str) else ""


def read_answer(exc: BaseException) -> ProviderAnswer | None:
    """The provider's HTTP error answer behind ``exc`` (innermost first); None without one."""
    for link in reversed(_chain(exc)):
        if not _is_answer(link):
            continue
        response = getattr(link, "response", None)
        status = getattr(response, "status_code", None)
        if not isinstance(status, int) or status < 400:
            continue
        codes, words = _said_in(_body_text(link, response))
        try:
            headers = {str(k).lower(): v for k, v in dict(getattr(response, "headers", {})).items()}
        except Exception:
            headers = {}
        return ProviderAnswer(status, codes, words, headers)
    return None


def _no_answer(exc: BaseException) -> bool:
    """True when the chain shows the call failed in transport, before any HTTP answer."""
    links = _chain(exc)
    names = {type(link).__name__ for link in links}
    return "HTTPStatusError" not in names and bool(names & _NO_ANSWER_CAUSES)


def _headers(exc: BaseException) -> Mapping[str, Any] | None:
    headers = getattr(exc, "litellm_response_headers", None)
    if headers:
        return {str(k).lower(): v for k, v in dict(headers).items()}
    try:
        response_headers = exc.response.headers  # type: ignore[attr-defined]
    except Exception:
        return None
    return {str(k).lower(): v for k, v in dict(response_headers).items()}


def parse_retry_after(value: Any, *, now: float | None = None) -> float | None:
    """Seconds from a Retry-After value: delta-seconds or an HTTP date (never negative)."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _retry_after(headers: Mapping[str, Any] | None) -> float | None:
    if not headers:
        return None
    if "retry-after-ms" in headers:
        millis = parse_retry_after(headers["retry-after-ms"])
        if millis is not None:
            return millis / 1000
    return parse_retry_after(headers.get("retry-after"))


def _malformed(exc: BaseException, lower: str) -> bool:
    if any(hint in lower for hint in _MALFORMED_HINTS):
        return True
    if any(isinstance(cause, _MALFORMED_CAUSES) for cause in _chain(exc)[1:]):
        return True
    return "traceback (most recent call last)" in lower and "keyerror" in lower


def _clean(text: str, secrets: Sequence[str]) -> str:
    text = text.split("Traceback (most recent call last)")[0].strip()
    text = _LITELLM_PREFIX.sub("", text, count=1).strip() or text
    text = _LITELLM_NOISE.sub("", text).strip() or text
    return _short(text, secrets)


def _short(text: str, secrets: Sequence[str]) -> str:
    """Redacted (before cutting, so no half key survives) and at most _MAX_MESSAGE long."""
    text = redact(text[:_MAX_BODY], secrets)
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def _said(model: str, status: int | None, words: str, code: str | None = None) -> str:
    """``<model>: HTTP <status> (<code>): <words>``, each part only when there is one.

    The code goes in brackets: ``invalid_api_key: Incorrect ...`` would read as a
    credential to ``redact``.
    """
    if not status:
        return f"{model}: {words}"
    return (
        f"{model}: HTTP {status} ({code}): {words}" if code else f"{model}: HTTP {status}: {words}"
    )


def timed_out(model: str, timeout_s: float) -> ProviderTimeout:
    """The error for a call that got no answer within ``timeout_s`` (our side's timeout)."""
    return ProviderTimeout(_timed_out(model, "", timeout_s), model=model)


def answer_error(model: str, answer: ProviderAnswer, secrets: Sequence[str] = ()) -> ProviderError:
    """The error for a provider's HTTP error answer that has words (what :func:`translate`
    gives when it finds one in LiteLLM's exception chain)."""
    return _from_table(
        model,
        answer.status,
        answer.codes,
        answer.words,
        _short(answer.words, secrets),
        answer.headers,
    )


def _timed_out(model: str, raw: str, timeout_s: float | None) -> str:
    """``<model>: timed out after N s`` for a timeout on our side (no HTTP answer)."""
    if timeout_s is None:
        found = _TIMEOUT_VALUE.search(raw)
        timeout_s = float(found.group(1)) if found else None
    if timeout_s is not None:
        return f"{model}: timed out after {timeout_s:g} s"
    return f"{model}: request timed out"


def _from_table(
    model: str,
    status: int | None,
    codes: Sequence[str],
    said: str,
    shown: str,
    headers: Mapping[str, Any] | None,
) -> ProviderError:
    """The class the table gives for what the provider ``said``; the message ``shown``.

    The message names the provider's most specific code or type too (``HTTP 429
    (insufficient_quota): ...``), unless it is only the status again or a general one.
    """
    error = classify(status, codes, said).error
    code = next((c for c in codes if c != str(status) and c not in _GENERAL_CODES), None)
    text = _said(model, status, shown, _CODE.sub("", code)[:60] if code else None)
    if error is RateLimited:
        return RateLimited(text, model=model, status_code=status, retry_after=_retry_after(headers))
    return error(text, model=model, status_code=status)


def translate(
    exc: BaseException,
    model: str,
    secrets: Sequence[str],
    *,
    timeout_s: float | None = None,
) -> ProviderError:
    """Map any LiteLLM (or transport) exception onto our tree (the provider's answer first).

    ``timeout_s`` is the call's timeout, for the text of a timeout on our side. The result
    holds no reference to ``exc``: raise it ``from None``, outside the ``except`` block.
    """
    name = type(exc).__name__
    raw = str(exc) or name
    answer = read_answer(exc)
    if answer is not None and answer.words:
        return answer_error(model, answer, secrets)
    if answer is not None:  # an answer without words: LiteLLM's text stands in
        return _from_table(
            model, answer.status, answer.codes, raw, _clean(raw, secrets), answer.headers
        )
    status = _status(exc)
    words = _clean(raw, secrets)
    if isinstance(exc, TimeoutError) or "timeout" in name.lower() or status == 408:
        return ProviderTimeout(_timed_out(model, raw, timeout_s), model=model)
    if _malformed(exc, raw.lower()):  # an unparseable body came with a 200: no status
        return MalformedResponse(_said(model, None, words), model=model)
    if _no_answer(exc):  # a dropped or refused connection: LiteLLM's 500 is its own
        return ProviderUnavailable(_said(model, None, words), model=model)
    # No HTTP answer in the chain (a bare exception): its own status and words decide.
    return _from_table(model, status, (), raw, words, _headers(exc))
