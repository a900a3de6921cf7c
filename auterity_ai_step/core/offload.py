"""Run a blocking ledger or policy call without stalling the event loop, cheaply.

The call is first tried on the loop inside a quick scope (:mod:`..nowait`): a SQLite write
that gets its lock at once finishes there, in tens of microseconds. Anything that could
wait refuses before changing anything, and the call then runs in a worker thread, as every
such call used to. Work the quick try deferred (a budget-alert hook) runs in a worker
thread before this returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from .. import nowait

__all__ = ["offload"]

T = TypeVar("T")


async def offload(work: Callable[..., T], /, *args: Any, quick: bool, **kwargs: Any) -> T:
    """``work(*args, **kwargs)``: on the loop when ``quick`` and it cannot wait, else in a
    worker thread. ``quick=False`` goes straight to the thread (a backend that always
    waits, such as PostgreSQL)."""
    if not quick:
        return await asyncio.to_thread(work, *args, **kwargs)
    # A turn for the loop's other tasks first, as a thread hop gives them: the quick call
    # must not lengthen the stretch of code before it (a model's answer being parsed).
    await asyncio.sleep(0)
    later: list[Callable[[], None]] = []
    try:
        with nowait.quick_scope() as scope:
            later = scope.later
            return work(*args, **kwargs)
    except nowait.WouldWait:  # refused before changing anything: the thread runs it whole
        return await asyncio.to_thread(work, *args, **kwargs)
    finally:
        for deferred in later:  # after the quick try, whether it returned or raised
            await asyncio.to_thread(deferred)
