"""The plan of a step: which candidates, in which order, each sized against the limits.

One plan serves three readers: ``run`` (the engine sizes each attempt with
:func:`size_attempt` as it reaches it, since earlier attempts spend the step's
``cost_limit``), ``estimate`` (the plan as the first attempt would see every candidate) and
a what-if replay of recorded traffic. :func:`plan_step` is pure: a policy, a step config and
a prompt's token count in, ordered candidates with their worst cases and refusals out; no
ledger, no provider call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from ..errors import LimitExceeded
from ..money.limits import StepAllowance, attempt_headroom, cap_max_tokens
from ..money.prices import Price, worst_case_cost
from ..routing import gateway
from ..routing.candidates import Candidate, Skipped, build_chain
from .run_types import billable_prompt_tokens

if TYPE_CHECKING:
    from ..contract.policy import CostControls, ModelSpec, Policy
    from ..contract.step import StepConfig
    from ..money.price_book import PriceBook
    from ..routing.circuit import CircuitBreaker

__all__ = [
    "AttemptSize",
    "PlannedCandidate",
    "StepPlan",
    "attempt_max_tokens",
    "count_prompt_tokens",
    "plan_step",
    "size_attempt",
]


@dataclass(frozen=True, slots=True)
class AttemptSize:
    """What one attempt on a model is sent and reserves: its ``max_tokens`` and worst case.

    ``worst_case`` is ``None`` when the price is unknown (``price`` is ``None``)."""

    price: Price | None
    max_tokens: int
    worst_case: Decimal | None


@dataclass(frozen=True, slots=True)
class PlannedCandidate:
    """One candidate as a first attempt would see it.

    ``refused`` is the limit that leaves no room for even one useful answer (``run`` would
    not try the candidate); ``max_tokens`` is then ``None`` and ``worst_case`` the cost of
    the smallest useful attempt.
    """

    candidate: Candidate
    price: Price | None
    max_tokens: int | None
    worst_case: Decimal | None
    refused: LimitExceeded | None = None

    @property
    def model(self) -> ModelSpec:
        return self.candidate.model


@dataclass(frozen=True, slots=True)
class StepPlan:
    """A step's candidates in order, sized; the models dropped before any call, with why."""

    prompt_tokens: int
    billed_prompt_tokens: int
    candidates: tuple[PlannedCandidate, ...]
    skipped: tuple[Skipped, ...]


def count_prompt_tokens(
    policy: Policy, config: StepConfig, messages: Sequence[Mapping[str, str]]
) -> int:
    """Prompt tokens, counted offline with the tokenizer of the step's first model."""
    name = config.model if config.model and config.model in policy.models else None
    model = policy.models.get(name or policy.routing.default_model)
    if model is None:
        model = next(iter(policy.models.values()))
    return gateway.count_tokens(model, messages)


def attempt_max_tokens(
    asked: int | None,
    model: ModelSpec,
    price: Price | None,
    billed_prompt_tokens: int,
    controls: CostControls,
    allowance: StepAllowance | None,
) -> int:
    """The ``max_tokens`` an attempt on ``model`` is sent with (``estimate`` shows the same).

    The step's own ``max_tokens`` (``asked``), at most the model's ``max_output_tokens``.
    Without one: the most output tokens the tightest in-process limit (the ``allowance``
    left of the step's ``cost_limit``, the ``per_request_limit``) pays for after the prompt,
    at most the model's output (:func:`~auterity_ai_step.money.limits.cap_max_tokens`); the
    model's output when no limit applies or the price is unknown. ``LimitExceeded``, naming
    the tightest limit, when not even a useful answer fits.
    """
    if asked is not None:
        return min(asked, model.max_output_tokens)
    if price is None:
        return model.max_output_tokens
    headroom = attempt_headroom(controls, allowance)
    limit = "cost_limit"
    if headroom is not None and headroom == controls.per_request_limit:
        limit = "per_request_limit"
    capped = cap_max_tokens(
        price, billed_prompt_tokens, headroom, ceiling=model.max_output_tokens, limit=limit
    )
    return capped if capped is not None else model.max_output_tokens


def size_attempt(
    config: StepConfig,
    model: ModelSpec,
    billed_prompt_tokens: int,
    *,
    prices: PriceBook,
    controls: CostControls,
    allowance: StepAllowance | None,
) -> AttemptSize:
    """Price, ``max_tokens`` and worst case of the next attempt on ``model``.

    ``allowance``: what is left of the step's ``cost_limit`` now. ``LimitExceeded`` when
    not even a useful answer fits (see :func:`attempt_max_tokens`).
    """
    price = prices.price(model)
    max_tokens = attempt_max_tokens(
        config.max_tokens, model, price, billed_prompt_tokens, controls, allowance
    )
    worst = None if price is None else worst_case_cost(price, billed_prompt_tokens, max_tokens)
    return AttemptSize(price, max_tokens, worst)


def plan_step(
    policy: Policy,
    config: StepConfig,
    prompt_tokens: int,
    *,
    prices: PriceBook,
    breaker: CircuitBreaker | None = None,
    use_policy_fallbacks: bool = True,
) -> StepPlan:
    """The step's candidates in order, each sized as a first attempt, and the dropped ones.

    ``prompt_tokens``: the prompt as counted offline (:func:`count_prompt_tokens`); worst
    cases are reserved on the billable margin above it
    (:func:`~auterity_ai_step.core.run_types.billable_prompt_tokens`). ``breaker``: drop
    models whose circuit is open (``None``: health is not considered).
    """
    chain, skipped = build_chain(
        config,
        policy,
        prompt_tokens=prompt_tokens,
        breaker=breaker,
        prices=prices,
        use_policy_fallbacks=use_policy_fallbacks,
    )
    billed = billable_prompt_tokens(prompt_tokens)
    controls = policy.cost_controls
    planned = []
    for candidate in chain:
        try:
            size = size_attempt(
                config,
                candidate.model,
                billed,
                prices=prices,
                controls=controls,
                allowance=StepAllowance(config.cost_limit),
            )
        except LimitExceeded as exc:
            price = prices.price(candidate.model)
            planned.append(PlannedCandidate(candidate, price, None, exc.needed, exc))
        else:
            planned.append(
                PlannedCandidate(candidate, size.price, size.max_tokens, size.worst_case)
            )
    return StepPlan(prompt_tokens, billed, tuple(planned), tuple(skipped))
