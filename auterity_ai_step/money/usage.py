"""Usage a provider reports, judged before it is charged: what to book and what looks wrong.

A provider's ``usage`` is what it will bill, but it can be missing, negative or impossible
(more output tokens than the ``max_tokens`` it was sent, a prompt larger than the model's
context window). Such usage is an *anomaly*: recorded on the attempt's row, and charged at
the reserved worst case when the figure cannot be trusted, or at the reported figure when
that is higher (an over-report: the bill will say it). Counts are clamped to what the
ledger's 64-bit columns hold and costs to what its ``Numeric(18, 10)`` columns hold.

Pure arithmetic that never raises: the engine calls it after a paid call, where an
exception would lose the attempt's row.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .prices import Price, quantize_cost

__all__ = ["MAX_COST", "MAX_TOKENS", "UsageVerdict", "judge_usage"]

#: The most tokens one count may hold (2**53 - 1: exact in JSON and JavaScript; the ledger's
#: BigInteger columns hold the sum of two with room to spare).
MAX_TOKENS = 2**53 - 1
#: The most one attempt may cost in the ledger (its columns are ``Numeric(18, 10)``).
MAX_COST = Decimal("99999999.9999999999")
_THOUSAND = Decimal(1000)
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class UsageVerdict:
    """What to record for one answered attempt.

    ``anomaly`` is ``None`` for believable usage, else a short text starting with the
    anomaly's codes (``missing_usage``, ``negative_usage``, ``over_max_tokens``,
    ``over_context_window``, ``tokens_clamped``, ``cost_clamped``). ``over_reported`` is true
    when the provider claimed more than it could have used: the model should be quarantined.
    """

    prompt_tokens: int
    completion_tokens: int
    cost: Decimal
    anomaly: str | None = None
    over_reported: bool = False


def _show(count: int) -> str:
    """A count for a message (an int of over 4,300 digits cannot even be printed)."""
    if count > MAX_TOKENS:
        return f"over {MAX_TOKENS}"
    if count < -MAX_TOKENS:
        return f"under -{MAX_TOKENS}"
    return str(count)


def _clamp(count: int) -> int:
    return min(max(count, 0), MAX_TOKENS)


def _cost(price: Price | None, prompt: int, completion: int) -> Decimal:
    if price is None:
        return _ZERO
    raw = (prompt * price.input_per_1k + completion * price.output_per_1k) / _THOUSAND
    return quantize_cost(raw)


def judge_usage(
    price: Price | None,
    prompt_tokens: int,
    completion_tokens: int,
    *,
    max_tokens: int,
    context_window: int,
    worst_case: Decimal | None,
    estimated: bool = False,
) -> UsageVerdict:
    """The counts and cost to book for reported usage, and the anomaly if it cannot be true.

    ``estimated``: the provider sent no usable ``usage`` and the gateway counted the tokens
    itself; the attempt is charged its worst case (never more: the count is ours, not a
    bill). ``worst_case`` is the attempt's reservation (``None``: no price, charged $0).
    """
    codes: list[str] = []
    details: list[str] = []
    worst = worst_case if worst_case is not None else _ZERO
    untrusted = False
    over = False
    if estimated:
        # Our own count, not a figure the provider billed: charge the worst case, no more.
        prompt, completion = _clamp(prompt_tokens), _clamp(completion_tokens)
        anomaly = (
            "missing_usage: the provider reported no usable usage; charged the reserved worst case"
        )
        return UsageVerdict(prompt, completion, min(worst, MAX_COST), anomaly)
    if prompt_tokens < 0 or completion_tokens < 0:
        codes.append("negative_usage")
        details.append(
            f"reported {_show(prompt_tokens)} prompt, {_show(completion_tokens)} completion tokens"
        )
        untrusted = True
    if completion_tokens > max_tokens:
        codes.append("over_max_tokens")
        details.append(f"{_show(completion_tokens)} completion tokens, max_tokens was {max_tokens}")
        over = True
    if prompt_tokens > context_window:
        codes.append("over_context_window")
        details.append(f"{_show(prompt_tokens)} prompt tokens, context window is {context_window}")
        over = True
    prompt, completion = _clamp(prompt_tokens), _clamp(completion_tokens)
    if max(prompt_tokens, completion_tokens) > MAX_TOKENS:
        codes.append("tokens_clamped")
        details.append(f"counts clamped to {MAX_TOKENS}")
    reported = _cost(price, prompt, completion)
    cost = max(reported, worst) if (untrusted or over) else reported
    if cost > MAX_COST:
        codes.append("cost_clamped")
        details.append(f"cost clamped to {MAX_COST}")
        cost = MAX_COST
    if not codes:
        return UsageVerdict(prompt, completion, cost)
    charged = "the reserved worst case" if cost == worst and worst > reported else "as reported"
    anomaly = f"{','.join(codes)}: {'; '.join(details)}; charged {charged}"
    return UsageVerdict(prompt, completion, cost, anomaly, over)
