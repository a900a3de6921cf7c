"""Run a blocking ledger or policy call without stalling the event loop, cheaply.

The call is first tried on the loop inside a quick scope (:mod:`..nowait`): a SQLite write
that gets its lock at once finishes there, in tens of microseconds. Anything that could
wait refuses before changing anything, and the call then runs in a worker thread, as every
such call used to. A file that is only busy for now (a checkpoint, another worker's write)
is tried again after short pauses on the loop (``BUSY_PAUSES_S``) before the thread. Work
the quick try deferred (a budget-alert hook) runs in a worker thread before this returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from .. import nowait

__all__ = ["offload"]

T = TypeVar("T")


#: Pauses between quick tries while the database file is busy (another connection holds
#: its write lock: a checkpoint, another worker's write): about 60 ms in all, then a thread.
#: Sending each busy write to a thread at once can convoy: the thread holds the lock while
#: it waits for the GIL, so the loop's next tries find it busy too.
BUSY_PAUSES_S = (0.001, 0.002, 0.004, 0.008, 0.016, 0.032)


async def offload(work: Callable[..., T], /, *args: Any, quick: bool, **kwargs: Any) -> T:
    """``work(*args, **kwargs)``: on the loop when ``quick`` and it cannot wait, else in a
    worker thread. ``quick=False`` goes straight to the thread (a backend that always
    waits, such as PostgreSQL)."""
    if quick:
        # A turn for the loop's other tasks first, as a thread hop gives them: the quick
        # call must not lengthen the stretch of code before it (a model's answer parsed).
        await asyncio.sleep(0)
        for pause in (*BUSY_PAUSES_S, None):
            try:
                return await _quick(work, args, kwargs)
            except nowait.WouldWait as refusal:  # refused before changing anything
                if not refusal.busy or pause is None:
                    break
            await asyncio.sleep(pause)
    return await asyncio.to_thread(work, *args, **kwargs)


async def _quick(work: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    later: list[Callable[[], None]] = []
    try:
        with nowait.quick_scope() as scope:
            later = scope.later
            return work(*args, **kwargs)
    finally:
        for deferred in later:  # after the quick try, whether it returned or raised
            await asyncio.to_thread(deferred)
