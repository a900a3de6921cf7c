"""``reference/provider-errors.md``: the provider error table, row by row, from its source.

Every row of ``routing.error_table.RULES`` becomes a table row (status, codes, words,
class); what each class does next comes from the classes themselves (``retryable``,
``kind``) and the engine's quarantine period, so the page changes exactly when they do.
"""

from __future__ import annotations

from auterity_ai_step import errors
from auterity_ai_step.core import attempt
from auterity_ai_step.routing import error_table, health

from . import md

__all__ = ["render"]

SOURCE = "auterity_ai_step/routing/error_table.py"
_TROUBLE = "../guides/troubleshooting.md"

_INTRO = """\
When a provider answers a call with an HTTP error, the step reads the provider's own answer:
the HTTP status it sent, the error code or type in its body (`error.code` and `error.type`
for OpenAI, `error.type` for Anthropic, `error_type` for HuggingFace TGI) and its message.
LiteLLM's view of the error is not used for this: it rewrites some statuses (Anthropic's
529 arrives as 500) and drops the words of others (TGI's 422 arrives as "Error code: 422").
The rows below are tried in order and the first one that matches decides the error class.
A row with codes or words matches when the status matches and either one of its codes or
one of its words (case-insensitive, anywhere in the message) does; a row with neither
matches on the status alone.

The attempt's `error` in `ai_attempts`, and the step's `error_message`, then read
`<model>: HTTP <status> (<code>): <the provider's words>`, redacted: the status is the one
the provider sent, the code is its error code or type when that says more than the status
(`insufficient_quota`, TGI's `validation`), the words are its own, shortened to 500
characters, and any key found in them (as is, reversed, spaced out, base64-, hex- or
percent-encoded) is replaced by `***`. The class's kind is the `error_type` on the attempt
and on its ledger row. The error carries no exception chain: LiteLLM's own exception can
hold the key.
"""

_NO_ANSWER = (
    (
        "The call timed out on this side (the step's `timeout_s`)",
        errors.ProviderTimeout,
        "`<model>: timed out after <N> s`",
    ),
    (
        "The connection was refused or dropped before an answer",
        errors.ProviderUnavailable,
        "`<model>: <the transport's words>`",
    ),
    (
        "The provider answered 200 with a body that is not a chat answer",
        errors.MalformedResponse,
        "`<model>: <what could not be read>`",
    ),
)


def _anchor(cls: type[errors.ProviderError]) -> str:
    return f"[`{cls.__name__}`]({_TROUBLE}#{cls.__name__.lower()})"


def _next_step(cls: type[errors.ProviderError]) -> str:
    """What the engine does after this class of error, in a few words."""
    if cls is errors.QuotaExceeded:
        hours = attempt.QUOTA_QUARANTINE_S / 3600
        return (
            f"next candidate at once; the model is quarantined for {hours:g} h (quarantine event)"
        )
    if cls is errors.ContextWindowExceeded:
        return "next candidate with a larger context window"
    if cls.retryable:
        return (
            "next candidate at once when one fits (`retry.fallback_first`; the model's "
            "retry is its circuit's half-open probe); else retried on the same model "
            "(`retry.max_attempts_per_model`, backoff, Retry-After); counts toward the circuit"
        )
    if health.counts_as_failure(cls("")):
        return "next candidate at once; counts toward the circuit"
    return "next candidate at once"


def _codes(rule: error_table.ErrorRule) -> str:
    return ", ".join(md.code(c) for c in rule.codes) or "any"


def _words(rule: error_table.ErrorRule) -> str:
    return ", ".join(md.code(p) for p in rule.patterns) or "any"


def _rules_table() -> str:
    rows = [
        (
            str(number),
            md.code(rule.status),
            _codes(rule),
            _words(rule),
            f"{_anchor(rule.error)} ({md.code(rule.error.kind)})",
            md.cell(rule.providers),
            md.cell(rule.why),
        )
        for number, rule in enumerate(error_table.RULES, 1)
    ]
    headers = ["#", "Status", "Code or type", "Words in the message", "Class (kind)"]
    return md.table([*headers, "Sent by", "Why"], rows)


def _classes_table() -> str:
    seen: list[type[errors.ProviderError]] = []
    for rule in error_table.RULES:
        if rule.error not in seen:
            seen.append(rule.error)
    for _, cls, _ in _NO_ANSWER:
        if cls not in seen:
            seen.append(cls)
    rows = [
        (_anchor(cls), md.code(cls.kind), "yes" if cls.retryable else "no", _next_step(cls))
        for cls in seen
    ]
    return md.table(["Class", "Kind", "Retryable", "What the step does next"], rows)


def _no_answer_table() -> str:
    rows = [(md.cell(when), _anchor(cls), shown) for when, cls, shown in _NO_ANSWER]
    return md.table(["When", "Class", "Message"], rows)


def render() -> str:
    """The whole page."""
    parts = [
        md.header(SOURCE, "Provider errors"),
        _INTRO,
        "## The table\n",
        _rules_table(),
        "## Without an answer\n",
        "No HTTP answer means no provider status: these messages never say `HTTP <status>`, "
        "and the error's `status_code` is empty.\n",
        _no_answer_table(),
        "## What each class does next\n",
        _classes_table(),
    ]
    return "\n".join(parts)
