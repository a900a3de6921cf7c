"""The single retry layer: tenacity, for transient provider errors only.

LiteLLM's own retries are off, so this is the only place a call is repeated. Only a
:class:`ProviderError` with ``retryable`` set is retried (429, timeouts, connection errors,
5xx); everything else is raised at once so the executor moves to the next candidate. The
last error itself is raised, never tenacity's ``RetryError``.

A retry knows when a fallback is waiting: with ``retry.fallback_first`` (the default) a
transient error is raised at once, without a sleep, when the caller's ``fallback_ready()``
says another candidate fits; the failed model's retry comes later, through its circuit's
half-open probe. Same-model retries with backoff remain for when no other candidate fits.

Usage::

    async for attempt in retrying(policy.retry, deadline=step_deadline):
        with attempt:
            result = await gateway.complete(request)
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import tenacity

from auterity_ai_step.errors import ProviderError, RateLimited

if TYPE_CHECKING:
    from auterity_ai_step.contract.policy import RetrySettings

__all__ = ["is_retryable", "retry_wait", "retrying"]

Sleep = Callable[[float], Awaitable[None]]


def is_retryable(exc: BaseException) -> bool:
    """True for provider errors that may succeed on the same model if tried again."""
    return isinstance(exc, ProviderError) and exc.retryable


def _retry_after(state: tenacity.RetryCallState) -> float | None:
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, RateLimited) and exc.retry_after is not None:
        return max(float(exc.retry_after), 0.0)
    return None


def retry_wait(
    settings: RetrySettings, *, rng: Callable[[], float] = random.random
) -> Callable[[tenacity.RetryCallState], float]:
    """Exponential backoff with jitter, or the provider's ``Retry-After`` when it gave one.

    The n-th wait is drawn from ``[b/2, b]`` with ``b = min(initial * 2**(n-1), max)``
    ("equal jitter"): spread out so concurrent steps do not retry in lockstep, yet never
    shorter than half the backoff.
    """

    def wait(state: tenacity.RetryCallState) -> float:
        retry_after = _retry_after(state)
        if retry_after is not None:
            return retry_after
        base = min(
            settings.initial_backoff_s * 2.0 ** (state.attempt_number - 1), settings.max_backoff_s
        )
        return base / 2 + rng() * base / 2

    return wait


class _Stop(tenacity.stop.stop_base):
    """Stop when a fallback is waiting, on the attempt limit, an over-long Retry-After, or
    a sleep past the deadline."""

    def __init__(
        self,
        settings: RetrySettings,
        deadline: float,
        clock: Callable[[], float],
        fallback_ready: Callable[[], bool] | None,
    ) -> None:
        self.settings = settings
        self.deadline = deadline
        self.clock = clock
        self.fallback_ready = fallback_ready

    def __call__(self, state: tenacity.RetryCallState) -> bool:
        if state.attempt_number >= self.settings.max_attempts_per_model:
            return True
        ready = self.fallback_ready
        if self.settings.fallback_first and ready is not None and ready():
            return True  # another candidate fits: go to it now, no sleep
        retry_after = _retry_after(state)
        if retry_after is not None and retry_after > self.settings.retry_after_cap_s:
            return True  # the provider wants us gone for longer than we wait: next model
        return self.clock() + (state.upcoming_sleep or 0.0) > self.deadline


def retrying(
    settings: RetrySettings,
    *,
    sleep: Sleep = asyncio.sleep,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    rng: Callable[[], float] = random.random,
    fallback_ready: Callable[[], bool] | None = None,
) -> tenacity.AsyncRetrying:
    """A fresh tenacity controller for one model's attempts within one step.

    ``deadline`` is a ``clock()`` time by which the step must be over (the executor passes
    the step's); without one the policy's ``step_time_budget_s`` counts from now.
    ``fallback_ready`` is asked after a transient failure, only then: True means another
    candidate fits, so (with ``settings.fallback_first``) the error is raised at once
    instead of retried. ``sleep``, ``clock`` and ``rng`` are injectable so tests never wait.
    """
    if deadline is None:
        deadline = clock() + settings.step_time_budget_s
    return tenacity.AsyncRetrying(
        retry=tenacity.retry_if_exception(is_retryable),
        stop=_Stop(settings, deadline, clock, fallback_ready),
        wait=retry_wait(settings, rng=rng),
        sleep=sleep,
        reraise=True,
    )
