"""The single retry layer: which errors retry, how long it waits, when it gives up."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import tenacity

from auterity_ai_step.contract.policy import RetrySettings
from auterity_ai_step.errors import (
    AuthenticationFailed,
    ContextWindowExceeded,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
)
from auterity_ai_step.routing.retry import is_retryable, retry_wait, retrying


class FakeTime:
    """A clock that only moves when the retry layer sleeps; records every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def failing(
    errors: list[BaseException], result: str = "ok"
) -> tuple[Callable[[], object], list[int]]:
    calls: list[int] = []

    async def call() -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return result

    return call, calls


SETTINGS = RetrySettings(
    max_attempts_per_model=3,
    initial_backoff_s=0.2,
    max_backoff_s=2.0,
    retry_after_cap_s=5.0,
    step_time_budget_s=60.0,
)


async def test_transient_errors_retry_with_jittered_exponential_backoff() -> None:
    t = FakeTime()
    call, calls = failing([ProviderUnavailable("503"), ProviderTimeout("slow")])
    result = await retrying(SETTINGS, sleep=t.sleep, clock=t.clock)(call)
    assert result == "ok"
    assert len(calls) == 3
    assert len(t.sleeps) == 2
    assert 0.1 <= t.sleeps[0] <= 0.2
    assert 0.2 <= t.sleeps[1] <= 0.4


@pytest.mark.parametrize(
    "error", [ProviderUnavailable("500"), ProviderUnavailable("refused"), RateLimited("429")]
)
async def test_a_waiting_fallback_takes_a_transient_error_at_once(error: ProviderError) -> None:
    t = FakeTime()
    asked: list[int] = []

    def fallback_ready() -> bool:
        asked.append(1)
        return True

    call, calls = failing([error])
    with pytest.raises(type(error)) as raised:
        await retrying(SETTINGS, sleep=t.sleep, clock=t.clock, fallback_ready=fallback_ready)(call)
    assert raised.value is error
    assert len(calls) == 1 and t.sleeps == []
    assert asked == [1]  # asked after the failure, once


async def test_no_fallback_ready_keeps_same_model_retries_with_backoff() -> None:
    t = FakeTime()
    call, calls = failing([ProviderUnavailable("500"), ProviderUnavailable("500")])
    result = await retrying(SETTINGS, sleep=t.sleep, clock=t.clock, fallback_ready=lambda: False)(
        call
    )
    assert result == "ok" and len(calls) == 3 and len(t.sleeps) == 2


async def test_fallback_first_off_ignores_a_waiting_fallback() -> None:
    t = FakeTime()
    settings = SETTINGS.model_copy(update={"fallback_first": False})
    call, calls = failing([ProviderUnavailable("500")])
    result = await retrying(settings, sleep=t.sleep, clock=t.clock, fallback_ready=lambda: True)(
        call
    )
    assert result == "ok" and len(calls) == 2 and len(t.sleeps) == 1


async def test_a_success_never_asks_for_a_fallback() -> None:
    def fallback_ready() -> bool:
        raise AssertionError("asked without a failure")

    call, _calls = failing([])
    assert await retrying(SETTINGS, fallback_ready=fallback_ready)(call) == "ok"


async def test_async_for_form_works() -> None:
    t = FakeTime()
    call, calls = failing([ProviderUnavailable("503")])
    async for attempt in retrying(SETTINGS, sleep=t.sleep, clock=t.clock):
        with attempt:
            result = await call()
    assert result == "ok"
    assert len(calls) == 2


@pytest.mark.parametrize(
    "error",
    [
        AuthenticationFailed("401"),
        ContextWindowExceeded("too long"),
        ProviderError("x"),
        ValueError("bug"),
    ],
)
async def test_non_retryable_errors_raise_at_once(error: BaseException) -> None:
    t = FakeTime()
    call, calls = failing([error])
    with pytest.raises(type(error)) as raised:
        await retrying(SETTINGS, sleep=t.sleep, clock=t.clock)(call)
    assert raised.value is error
    assert len(calls) == 1
    assert t.sleeps == []


async def test_exhausted_retries_reraise_the_last_error_not_retry_error() -> None:
    t = FakeTime()
    errors = [ProviderUnavailable("a"), ProviderUnavailable("b"), ProviderTimeout("c")]
    call, calls = failing(errors)
    with pytest.raises(ProviderTimeout) as raised:
        await retrying(SETTINGS, sleep=t.sleep, clock=t.clock)(call)
    assert raised.value is errors[-1]
    assert not isinstance(raised.value, tenacity.RetryError)
    assert len(calls) == 3
    assert len(t.sleeps) == 2


async def test_retry_after_is_honoured() -> None:
    t = FakeTime()
    call, calls = failing([RateLimited("429", retry_after=1.5), RateLimited("429", retry_after=0)])
    assert await retrying(SETTINGS, sleep=t.sleep, clock=t.clock)(call) == "ok"
    assert t.sleeps == [1.5, 0.0]
    assert len(calls) == 3


async def test_retry_after_over_the_cap_moves_on_without_waiting() -> None:
    t = FakeTime()
    error = RateLimited("429", retry_after=30)
    call, calls = failing([error])
    with pytest.raises(RateLimited) as raised:
        await retrying(SETTINGS, sleep=t.sleep, clock=t.clock)(call)
    assert raised.value is error
    assert len(calls) == 1
    assert t.sleeps == []


async def test_rate_limit_without_retry_after_uses_backoff() -> None:
    t = FakeTime()
    call, _ = failing([RateLimited("429")])
    await retrying(SETTINGS, sleep=t.sleep, clock=t.clock, rng=lambda: 1.0)(call)
    assert t.sleeps == [0.2]


async def test_no_sleep_crosses_the_step_deadline() -> None:
    t = FakeTime()
    call, calls = failing([ProviderUnavailable("a"), ProviderUnavailable("b")])
    deadline = t.now + 0.3  # first backoff (<= 0.2) fits, second (>= 0.2 more) does not
    with pytest.raises(ProviderUnavailable):
        await retrying(SETTINGS, sleep=t.sleep, clock=t.clock, deadline=deadline, rng=lambda: 1.0)(
            call
        )
    assert t.sleeps == [0.2]
    assert len(calls) == 2


async def test_default_deadline_is_the_step_time_budget() -> None:
    t = FakeTime()
    tight = SETTINGS.model_copy(update={"step_time_budget_s": 0.05})
    call, calls = failing([ProviderUnavailable("a")])
    with pytest.raises(ProviderUnavailable):
        await retrying(tight, sleep=t.sleep, clock=t.clock)(call)
    assert len(calls) == 1
    assert t.sleeps == []


def test_backoff_doubles_and_is_capped() -> None:
    wait_high = retry_wait(SETTINGS, rng=lambda: 1.0)
    wait_low = retry_wait(SETTINGS, rng=lambda: 0.0)
    highs, lows = [], []
    for attempt in range(1, 7):
        state = tenacity.RetryCallState(None, None, (), {})  # type: ignore[arg-type]
        state.attempt_number = attempt
        highs.append(wait_high(state))
        lows.append(wait_low(state))
    assert highs == pytest.approx([0.2, 0.4, 0.8, 1.6, 2.0, 2.0])
    assert lows == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])


def test_is_retryable() -> None:
    assert is_retryable(RateLimited("x"))
    assert is_retryable(ProviderTimeout("x"))
    assert is_retryable(ProviderUnavailable("x"))
    assert not is_retryable(AuthenticationFailed("x"))
    assert not is_retryable(RuntimeError("x"))
