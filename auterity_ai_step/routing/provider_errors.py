"""Translating LiteLLM's (and the transport's) exceptions into our ``ProviderError`` tree.

By status code and message as well as by class name, because LiteLLM misclassifies some
(a context overflow as a plain 400, a 404 as ``APIError``, a non-JSON body as a 500) and
because matching names keeps LiteLLM out of this module's imports.
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
# ContextWindowExceededError: OpenAIException - ..."): strip them all, keep the provider's words.
_LITELLM_PREFIX = re.compile(r"^(?:(?:litellm\.\w+|\w+Error):\s*|\w+Exception\s*-\s*)*")


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
    seen: set[int] = set()
    cause: BaseException | None = exc.__cause__ or exc.__context__
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, _MALFORMED_CAUSES):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return "traceback (most recent call last)" in lower and "keyerror" in lower


def _clean(text: str, secrets: Sequence[str]) -> str:
    text = text.split("Traceback (most recent call last)")[0].strip()
    text = _LITELLM_PREFIX.sub("", text, count=1).strip() or text
    text = redact(text, secrets)
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def translate(exc: BaseException, model: str, secrets: Sequence[str]) -> ProviderError:
    """Map any LiteLLM (or transport) exception onto our tree, by status and message."""
    name = type(exc).__name__
    status = _status(exc)
    raw = str(exc) or name
    lower = raw.lower()
    where = f"{model}: HTTP {status}" if status else model
    text = f"{where}: {_clean(raw, secrets)}"
    kw: dict[str, Any] = {"model": model, "status_code": status}
    if isinstance(exc, TimeoutError) or "timeout" in name.lower() or status == 408:
        return ProviderTimeout(text or f"{model}: timed out", **kw)
    if status == 429 or name == "RateLimitError":
        return RateLimited(text, model=model, status_code=429, retry_after=_retry_after(exc))
    if name == "ContextWindowExceededError" or any(h in lower for h in _CONTEXT_HINTS):
        return ContextWindowExceeded(text, **kw)
    if name == "ContentPolicyViolationError" or any(h in lower for h in _CONTENT_HINTS):
        return ContentRefused(text, **kw)
    if _malformed(exc, lower):
        return MalformedResponse(text, **kw)
    if status in (401, 403) or name in ("AuthenticationError", "PermissionDeniedError"):
        return AuthenticationFailed(text, **kw)
    if status == 404 or name == "NotFoundError":
        return ModelNotFound(text, **kw)
    if status is not None and 400 <= status < 500:
        return BadRequest(text, **kw)
    return ProviderUnavailable(text, **kw)
