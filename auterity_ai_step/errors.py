"""One exception tree for the whole package.

Library errors (LiteLLM, SQLAlchemy, jsonschema, Jinja2) are translated into these at the
one module that talks to that library, keeping the original as ``__cause__`` where it holds
no secret. A provider's raw exception can hold the API key, so a ``ProviderError`` never
carries one: the gateway raises it with no chain, the safe details copied onto it::

    AuterityAIError
    ├── StepConfigError            the step's node.data breaks the schema (``errors`` lists each)
    ├── PolicyError                the model policy (file or table) is invalid
    ├── TemplateError              a prompt template is unsafe, undefined or too large
    │   └── LegacyTemplateError    a PromptTemplate's variables are missing (also an
    │                              AIServiceError, as today's PromptTemplate raised)
    ├── LimitExceeded              no candidate's worst case fits a cost limit or budget
    ├── StoreError                 the usage ledger could not be read or written
    ├── ProviderError              one provider call failed (``retryable`` says what to do)
    │   ├── RateLimited            429; ``retry_after`` in seconds when the provider said
    │   ├── QuotaExceeded          billing: quota used up, credit too low (never retried)
    │   ├── ProviderTimeout        the request timed out
    │   ├── ProviderUnavailable    connection refused/dropped, 5xx
    │   ├── AuthenticationFailed   401/403: bad or missing key
    │   ├── ModelNotFound          404 / unknown model at the provider
    │   ├── ContextWindowExceeded  prompt + max_tokens does not fit the model
    │   ├── ContentRefused         the provider's content filter refused the request
    │   ├── BadRequest             any other 4xx the provider rejected
    │   ├── MalformedResponse      non-JSON body, no choices, empty content cut by length
    │   └── InvalidOutput          the answer is not JSON / breaks the step's output_schema
    └── AIServiceError             the back-compatible AIService's own error

Inside an Auterity process (``app.exceptions`` importable) ``AuterityAIError`` subclasses the
host's ``app.exceptions.AIServiceError``, so the host's class-based handlers (such as
``app/utils/retry_utils.py``) catch every error of this tree; its ``retryable`` stays ours.

Messages never contain secrets: provider messages are passed through ``redact`` first,
which also finds a given key reversed, spaced out, base64-, hex- or percent-encoded.
"""

from __future__ import annotations

import base64
import importlib
import re
from collections.abc import Iterator, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import quote

__all__ = [
    "AIServiceError",
    "AuterityAIError",
    "AuthenticationFailed",
    "BadRequest",
    "ContentRefused",
    "ContextWindowExceeded",
    "InvalidOutput",
    "LegacyTemplateError",
    "LimitExceeded",
    "MalformedResponse",
    "ModelNotFound",
    "PolicyError",
    "ProviderError",
    "ProviderTimeout",
    "ProviderUnavailable",
    "QuotaExceeded",
    "RateLimited",
    "StepConfigError",
    "StoreError",
    "TemplateError",
    "is_secret_key",
    "looks_like_secret",
    "redact",
]

_SECRET_PATTERNS = (
    re.compile(r"sk-ant-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"sk-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"hf_[A-Za-z0-9]{8,}"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{8,}"),
    re.compile(r"(://[^:/@\s]+:)[^@\s]+(?=@)"),  # the password of a URL's user:password@
    re.compile(r"(?i)((?:api[_-]?key|token|secret|password)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]{4,}"),
)


# Between the characters of a spaced-out key: whitespace or one common separator.
_SPACING = r"(?:\s{1,3}|\s?[-,.:|/_]\s?)?"
# Literal secrets shorter than this are only replaced as they are, never in an encoding.
_MIN_ENCODED = 8


def _base64_cores(secret: bytes) -> Iterator[str]:
    """The part of ``secret``'s base64 that is the same wherever it sits in a longer text.

    Base64 encodes three bytes as four characters, so a secret encoded inside a longer
    value (``Basic base64(user:key)``) starts at one of three alignments; for each, the
    characters fed only by the secret's own bits are fixed.
    """
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + secret).decode().rstrip("=")
        start = -(-8 * offset // 6)
        end = 8 * (offset + len(secret)) // 6
        core = encoded[start:end]
        yield core
        yield core.replace("+", "-").replace("/", "_")


@lru_cache(maxsize=64)
def _encoded_forms(secret: str) -> re.Pattern[str]:
    """One pattern for ``secret`` as is, reversed, spaced out (any case) and encoded."""
    raw = secret.encode()
    spaced = [_SPACING.join(re.escape(char) for char in form) for form in (secret, secret[::-1])]
    encoded = {*_base64_cores(raw), raw.hex(), raw.hex().upper(), quote(secret, safe="")}
    exact = "|".join(re.escape(form) for form in sorted(encoded, key=len, reverse=True))
    return re.compile(f"(?i:{'|'.join(spaced)})|{exact}")


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    """Remove anything that looks like a credential, plus the given literal secrets.

    A literal secret of eight characters or more is also found reversed, spaced out
    (``s k - ...``), in any case, and base64-, hex- or percent-encoded, as providers and
    proxies echo keys back in error bodies.
    """
    for secret in secrets:
        if not secret or len(secret) < 4:
            continue
        text = text.replace(secret, "***")
        if len(secret) >= _MIN_ENCODED:
            text = _encoded_forms(secret).sub("***", text)
    for pattern in _SECRET_PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + "***", text)
        else:
            text = pattern.sub("***", text)
    return text


_SECRET_KEY = re.compile(r"(?i)^(api[_-]?key|apikey|secret|token|password)$")


def is_secret_key(name: str) -> bool:
    """Whether a settings key names a literal credential (``api_key``, ``token``, ...).

    The policy parser refuses such keys and the API drops them from stored configurations:
    a key belongs in an environment variable named by ``api_key_env``.
    """
    return _SECRET_KEY.match(name) is not None


def looks_like_secret(text: str) -> bool:
    """Whether ``text`` holds something :func:`redact` would hide (an API key, a token)."""
    return redact(text) != text


def _host_error_root() -> type[Exception]:
    """The host's ``AIServiceError`` when running inside Auterity, else ``Exception``."""
    try:
        root = importlib.import_module("app.exceptions").AIServiceError
    except (ImportError, AttributeError):
        return Exception
    return root if isinstance(root, type) and issubclass(root, Exception) else Exception


if TYPE_CHECKING:
    _Root = Exception
else:
    _Root = _host_error_root()


class AuterityAIError(_Root):
    """Root of every error this package raises on purpose."""

    retryable = False

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        # The host's base sets ``retryable`` on the instance; the class says it here.
        self.__dict__.pop("retryable", None)


class StepConfigError(AuterityAIError):
    """The step configuration is invalid; ``errors`` holds one line per problem."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        super().__init__("invalid AI step config: " + "; ".join(self.errors))


class PolicyError(AuterityAIError):
    """The model policy is invalid; ``errors`` holds one line per problem."""

    def __init__(self, message: str, errors: Sequence[str] = ()) -> None:
        self.errors = list(errors) or [message]
        super().__init__(message)


class TemplateError(AuterityAIError):
    """A prompt template could not be rendered safely."""


class LimitExceeded(AuterityAIError):
    """A cost limit or budget leaves no room for the attempt.

    ``limit`` names the limit (``cost_limit``, ``per_request_limit``, ``daily_budget``),
    ``remaining`` what is left of it and ``needed`` the cheapest worst case that was refused.
    """

    def __init__(
        self,
        message: str,
        *,
        limit: str,
        remaining: Decimal | None = None,
        needed: Decimal | None = None,
    ) -> None:
        self.limit = limit
        self.remaining = remaining
        self.needed = needed
        super().__init__(message)


class StoreError(AuterityAIError):
    """The usage ledger could not be read or written."""


class ProviderError(AuterityAIError):
    """One call to one provider failed.

    ``retryable`` tells the retry layer whether the same model may be tried again;
    ``status_code`` is the HTTP status when there was one.
    """

    retryable = False
    kind = "provider_error"

    def __init__(self, message: str, *, model: str = "", status_code: int | None = None) -> None:
        self.model = model
        self.status_code = status_code
        super().__init__(redact(message))


class RateLimited(ProviderError):
    retryable = True
    kind = "rate_limited"

    def __init__(
        self,
        message: str,
        *,
        model: str = "",
        status_code: int | None = 429,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, model=model, status_code=status_code)


class QuotaExceeded(ProviderError):
    """The provider refuses for billing: the quota is used up or the credit too low.

    Waiting does not fix it, so it is never retried: the step moves to the next candidate
    at once and the model is quarantined (its circuit opened, with this reason) for long.
    """

    kind = "quota_exceeded"


class ProviderTimeout(ProviderError):
    retryable = True
    kind = "timeout"


class ProviderUnavailable(ProviderError):
    retryable = True
    kind = "unavailable"


class AuthenticationFailed(ProviderError):
    kind = "authentication"


class ModelNotFound(ProviderError):
    kind = "model_not_found"


class ContextWindowExceeded(ProviderError):
    kind = "context_window"


class ContentRefused(ProviderError):
    kind = "content_refused"


class BadRequest(ProviderError):
    kind = "bad_request"


class MalformedResponse(ProviderError):
    kind = "malformed_response"


class InvalidOutput(ProviderError):
    kind = "invalid_output"


class AIServiceError(AuterityAIError):
    """Raised by the back-compatible AIService, as today's service does."""


class LegacyTemplateError(TemplateError, AIServiceError):
    """A legacy ``PromptTemplate`` could not be filled: a variable is missing or unknown.

    The contract's own error (a :class:`TemplateError`) that is also the
    :class:`AIServiceError` today's ``PromptTemplate.format`` raised, with today's messages
    (``Missing required variables: [...]``), so callers that catch either keep working.
    """
