"""What one run of the attempt loop takes and gives: requests and outcomes.

Each attempt is money's :class:`~auterity_ai_step.money.records.UsageRecord`, the same
object the ledger stores, so the step output and the usage rows cannot disagree.

Plain data shared by the engine, the executor and the service, plus the two small rules
the engine applies to every answer and every prompt (output checks, billable tokens).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import jsonschema

from ..contract.policy import ModelSpec, Policy, RetrySettings
from ..contract.step import StepConfig
from ..errors import InvalidOutput
from ..money.records import UsageRecord
from ..routing.candidates import Skipped

__all__ = [
    "PROMPT_TOKEN_MARGIN",
    "PROMPT_TOKEN_OVERHEAD",
    "RunOutcome",
    "RunRequest",
    "billable_prompt_tokens",
    "check_output",
    "prompt_token_bound",
]

_ZERO = Decimal(0)
PROMPT_TOKEN_MARGIN = Decimal("1.25")
PROMPT_TOKEN_OVERHEAD = 16


@dataclass(frozen=True, slots=True)
class RunRequest:
    """One step's worth of work: messages already rendered, routing knobs from the config."""

    config: StepConfig
    messages: Sequence[Mapping[str, str]]
    execution_id: str | None = None
    node_id: str | None = None
    retry: RetrySettings | None = None
    use_policy_fallbacks: bool = True
    # The policy the config was validated against; None: the engine reads the current one.
    policy: Policy | None = None


@dataclass(slots=True)
class RunOutcome:
    """What a run produced: the answer and model, or why every candidate failed."""

    success: bool
    content: str = ""
    parsed: Any = None
    model: ModelSpec | None = None
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # One record per provider call: the step output's ai_attempts and the ledger's rows.
    attempts: list[UsageRecord] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    error: str | None = None
    error_type: str | None = None

    @property
    def cost(self) -> Decimal:
        """The step's cost: every attempt together, failed ones included."""
        return sum((a.cost for a in self.attempts), _ZERO)

    @property
    def calls_made(self) -> int:
        """Provider calls made: every attempt is one (refused reservations are skips)."""
        return len(self.attempts)


def billable_prompt_tokens(counted: int) -> int:
    """The prompt tokens a provider may bill for a prompt we counted as ``counted``.

    We count offline with one tokenizer; providers bill by their own, which can count a
    fifth more (Anthropic's, for English) plus per-message framing. Worst cases are
    reserved on this margin so a limit holds whichever provider answers.
    """
    return math.ceil(counted * PROMPT_TOKEN_MARGIN) + PROMPT_TOKEN_OVERHEAD


def prompt_token_bound(messages: Sequence[Mapping[str, str]]) -> int:
    """An upper bound on a prompt's tokens without a tokenizer: its UTF-8 bytes.

    A byte-level BPE token (OpenAI's, Anthropic's, Llama 3's) is at least one byte, and a
    SentencePiece one with byte fallback at least one character, so no tokenizer counts
    more tokens than the text has bytes (plus a prefix piece). Each message adds its role
    and 4 for framing (LiteLLM's count adds 3 a message, and 3 for the reply). Fed to
    :func:`billable_prompt_tokens` in place of a count, every worst case stays an upper
    bound, at least the one the tokenizer's count gives.
    """
    total = 3
    for message in messages:
        content = str(message.get("content", ""))
        total += len(content.encode("utf-8")) + len(str(message.get("role", ""))) + 4
    return total


def check_output(config: StepConfig, content: str, model: str) -> Any:
    """Parse a JSON answer and check it against ``output_schema``; InvalidOutput if not."""
    if config.response_format != "json" and config.output_schema is None:
        return None
    try:
        parsed = json.loads(content)
    except json.JSONDecodeError as exc:
        raise InvalidOutput(f"{model}: answer is not valid JSON ({exc.msg})", model=model) from exc
    if config.output_schema is not None:
        validator = jsonschema.Draft202012Validator(dict(config.output_schema))
        error = jsonschema.exceptions.best_match(validator.iter_errors(parsed))
        if error is not None:
            path = "/".join(str(p) for p in error.absolute_path) or "(root)"
            raise InvalidOutput(
                f"{model}: answer breaks output_schema at {path}: {error.message}", model=model
            )
    return parsed
