"""Translating LiteLLM's (and the transport's) exceptions into our ``ProviderError`` tree.

By status code and message as well as by class name, because LiteLLM misclassifies some
(a context overflow as a plain 400, a 404 as ``APIError``, a non-JSON body as a 500) and
because matching names keeps LiteLLM out of this module's imports.

LiteLLM puts a status on every exception, inventing 408 for its own client-side timeout
and 500 for a dropped connection or a body it could not parse. A message says
``HTTP <status>`` (and ``status_code`` holds it) only when a provider really answered
with that status; for timeouts, dropped connections and unparseable bodies that means an
HTTP error response behind the exception (``httpx.HTTPStatusError`` in its chain).
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import (
    AuthenticationFailed,
    BadRequest,
    ContentRefused,
    ContextWindowExceeded,
    MalformedResponse,
    ModelNotFound,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    redact,
)

__all__ = ["parse_retry_after", "translate"]

_CONTEXT_HINTS = (
    "context length",
    "context_length",
    "maximum context",
    "context window",
    "too many tokens",
    "prompt is too long",
    "`inputs` tokens + `max_new_tokens`",
)
_CONTENT_HINTS = ("content_policy", "content policy", "content_filter", "content management policy")
_MALFORMED_HINTS = (
    "expecting value",
    "unable to get json response",
    "no 'choices'",
    "jsondecodeerror",
    "invalid json",
)
_MALFORMED_CAUSES = (json.JSONDecodeError, KeyError, IndexError, TypeError)
_MAX_MESSAGE = 500
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


def _answered_status(exc: BaseException) -> int | None:
    """The status of the provider's real HTTP answer behind ``exc``; None without one."""
    for link in _chain(exc):
        if type(link).__name__ == "HTTPStatusError":
            code = getattr(getattr(link, "response", None), "status_code", None)
            return code if isinstance(code, int) else None
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


def _retry_after(exc: BaseException) -> float | None:
    headers = _headers(exc)
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
    text = redact(text, secrets)
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def _said(model: str, status: int | None, words: str) -> str:
    return f"{model}: HTTP {status}: {words}" if status else f"{model}: {words}"


def _timed_out(model: str, raw: str, timeout_s: float | None) -> str:
    """``<model>: timed out after N s`` for a timeout on our side (no HTTP answer)."""
    if timeout_s is None:
        found = _TIMEOUT_VALUE.search(raw)
        timeout_s = float(found.group(1)) if found else None
    if timeout_s is not None:
        return f"{model}: timed out after {timeout_s:g} s"
    return f"{model}: request timed out"


def translate(
    exc: BaseException,
    model: str,
    secrets: Sequence[str],
    *,
    timeout_s: float | None = None,
) -> ProviderError:
    """Map any LiteLLM (or transport) exception onto our tree, by status and message.

    ``timeout_s`` is the call's timeout, for the text of a timeout on our side.
    """
    name = type(exc).__name__
    status = _status(exc)
    raw = str(exc) or name
    lower = raw.lower()
    words = _clean(raw, secrets)
    text = _said(model, status, words)
    kw: dict[str, Any] = {"model": model, "status_code": status}
    if isinstance(exc, TimeoutError) or "timeout" in name.lower() or status == 408:
        answered = _answered_status(exc)
        if answered is not None:  # the provider itself answered (408, 504, ...)
            return ProviderTimeout(_said(model, answered, words), model=model, status_code=answered)
        return ProviderTimeout(_timed_out(model, raw, timeout_s), model=model)
    if status == 429 or name == "RateLimitError":
        return RateLimited(text, model=model, status_code=429, retry_after=_retry_after(exc))
    if name == "ContextWindowExceededError" or any(h in lower for h in _CONTEXT_HINTS):
        return ContextWindowExceeded(text, **kw)
    if name == "ContentPolicyViolationError" or any(h in lower for h in _CONTENT_HINTS):
        return ContentRefused(text, **kw)
    if _malformed(exc, lower):
        answered = _answered_status(exc)  # an unparseable body came with a 200: no status
        return MalformedResponse(_said(model, answered, words), model=model, status_code=answered)
    if _no_answer(exc):  # a dropped or refused connection: LiteLLM's 500 is its own
        return ProviderUnavailable(_said(model, None, words), model=model)
    if status in (401, 403) or name in ("AuthenticationError", "PermissionDeniedError"):
        return AuthenticationFailed(text, **kw)
    if status == 404 or name == "NotFoundError":
        return ModelNotFound(text, **kw)
    if status is not None and 400 <= status < 500:
        return BadRequest(text, **kw)
    return ProviderUnavailable(text, **kw)
