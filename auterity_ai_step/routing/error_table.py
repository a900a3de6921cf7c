"""The provider error table: a provider's HTTP error answer → one of our error classes.

Data, not code: each :class:`ErrorRule` names the HTTP status it applies to, the provider
error codes or types (``error.code``, ``error.type``, TGI's ``error_type``) and the words
in the provider's message that pick it, and the class it maps to. The first rule that
matches wins, so specific rules come before the status-only ones. ``provider_errors``
reads the provider's own answer out of LiteLLM's exception and asks :func:`classify`;
``docs/reference/provider-errors.md`` is generated from :data:`RULES`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import (
    AuthenticationFailed,
    BadRequest,
    ContentRefused,
    ContextWindowExceeded,
    ModelNotFound,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    QuotaExceeded,
    RateLimited,
)

__all__ = ["RULES", "ErrorRule", "classify"]

_STATUS_PART = re.compile(r"^(?:[1-5]\d\d|[1-5]xx|any)$")


@dataclass(frozen=True)
class ErrorRule:
    """One row: when ``status`` matches and (if given) a code or a pattern does, ``error``.

    ``status`` is space-separated: exact codes (``"408 504"``), a class (``"4xx"``) or
    ``"any"``. ``codes`` match the provider's error code or type exactly; ``patterns`` are
    case-insensitive substrings of its message. With neither, the status alone decides.
    ``providers`` and ``why`` are for the docs page.
    """

    name: str
    status: str
    error: type[ProviderError]
    providers: str
    why: str
    codes: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        parts = self.status.split()
        if not parts or not all(_STATUS_PART.match(p) for p in parts):
            raise ValueError(f"error rule {self.name}: bad status {self.status!r}")

    def matches_status(self, status: int | None) -> bool:
        for part in self.status.split():
            if part == "any":
                return True
            if status is None:
                continue
            if part.endswith("xx") and status // 100 == int(part[0]):
                return True
            if part == str(status):
                return True
        return False

    def matches(self, status: int | None, codes: Iterable[str], text: str) -> bool:
        """Whether this row applies to an answer (``text`` already lower-cased)."""
        if not self.matches_status(status):
            return False
        if not self.codes and not self.patterns:
            return True
        return bool(set(self.codes) & set(codes)) or any(p in text for p in self.patterns)


# Wordings of a prompt that does not fit the model's window (OpenAI, vLLM, Anthropic,
# Ollama, HuggingFace TGI in both of its wordings).
_CONTEXT_PATTERNS = (
    "context length",
    "context_length",
    "context window",
    "exceed context limit",
    "too many tokens",
    "prompt is too long",
    "`inputs` tokens + `max_new_tokens` must be <=",
    "`inputs` must have less than",
)

RULES: tuple[ErrorRule, ...] = (
    ErrorRule(
        "insufficient-quota",
        "429",
        QuotaExceeded,
        "OpenAI",
        "A billing error sent with the rate-limit status: waiting cannot fix it.",
        codes=("insufficient_quota",),
        patterns=("exceeded your current quota",),
    ),
    ErrorRule(
        "payment-required",
        "402",
        QuotaExceeded,
        "Anthropic (`billing_error`), HuggingFace (credits used up)",
        "Payment Required: the account has no credit for this call.",
    ),
    ErrorRule(
        "billing",
        "4xx",
        QuotaExceeded,
        "Anthropic",
        "A billing refusal under another 4xx status (Anthropic says it with 400).",
        codes=("billing_error", "insufficient_quota"),
        patterns=("credit balance is too low", "exceeded your monthly included credits"),
    ),
    ErrorRule(
        "gateway-timeout",
        "408 504",
        ProviderTimeout,
        "all",
        "The provider (or a proxy before it) gave up waiting: transient, so the next "
        "candidate is tried at once when one fits.",
    ),
    ErrorRule(
        "rate-limit",
        "429",
        RateLimited,
        "all (TGI: `overloaded`)",
        "Too many requests: the next candidate at once when one fits, else retried after "
        "Retry-After.",
    ),
    ErrorRule(
        "context-window",
        "4xx",
        ContextWindowExceeded,
        "OpenAI, Anthropic, Ollama, HuggingFace TGI (422)",
        "The prompt plus max_tokens does not fit: only larger windows are tried next.",
        codes=("context_length_exceeded",),
        patterns=_CONTEXT_PATTERNS,
    ),
    ErrorRule(
        "content-filter",
        "4xx",
        ContentRefused,
        "OpenAI, Azure OpenAI",
        "The provider's content filter refused the request.",
        codes=("content_policy_violation", "content_filter"),
        patterns=("content_policy", "content policy", "content_filter", "content management"),
    ),
    ErrorRule(
        "authentication",
        "401 403",
        AuthenticationFailed,
        "all",
        "A missing, wrong or unauthorised key (or region): moves on at once.",
    ),
    ErrorRule(
        "not-found",
        "404",
        ModelNotFound,
        "all (Ollama: model not pulled)",
        "The model name is unknown to the provider: moves on at once.",
    ),
    ErrorRule(
        "generation-failed",
        "424",
        ProviderUnavailable,
        "HuggingFace TGI",
        "TGI failed while generating (error_type `generation`): a server-side fault.",
    ),
    ErrorRule(
        "bad-request",
        "4xx",
        BadRequest,
        "all",
        "Any other request the provider rejects: moves on at once.",
    ),
    ErrorRule(
        "server-error",
        "5xx",
        ProviderUnavailable,
        "all (Anthropic 529 `overloaded_error`)",
        "The provider failed or is overloaded: transient, so the next candidate is tried "
        "at once when one fits.",
    ),
    ErrorRule(
        "other",
        "any",
        ProviderUnavailable,
        "all",
        "An answer no other row explains: treated as the provider being unavailable.",
    ),
)


def classify(status: int | None, codes: Iterable[str], message: str) -> ErrorRule:
    """The first rule matching a provider's answer (its status, error codes and message)."""
    wanted = {code.lower() for code in codes if code}
    text = message.lower()
    for rule in RULES:
        if rule.matches(status, wanted, text):
            return rule
    raise AssertionError("the error table's last row matches everything")  # pragma: no cover
