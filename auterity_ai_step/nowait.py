"""Blocking calls the event loop may run itself, because they provably do not wait.

A ledger write on a SQLite file takes tens of microseconds; handing it to a worker thread
costs more CPU than the write (a thread switch each way and a wake-up of the loop). So the
engine first tries such a call *quickly*, on the loop, inside :func:`quick_scope`. There,
whatever could wait refuses before it changes anything, by raising :class:`WouldWait`: a
database file another process is writing, a PostgreSQL round trip, tables still to create,
a policy file due to be re-read, an outbox to replay. The engine then runs the same call in
a worker thread, as it always did.

A call is only ever run twice if its first run changed nothing: once a transaction has
changed a row (:func:`changed`), nothing in the scope raises any more. Work that must not
run on the loop at all once the change is made (a host's budget-alert hooks) is handed to
:func:`defer`, and the engine runs it in a worker thread before the step returns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

__all__ = ["QuickScope", "WouldWait", "armed", "changed", "check", "defer", "quick_scope"]


class WouldWait(BaseException):
    """This call could wait: run it in a worker thread instead (nothing was changed).

    ``busy`` says the wait would be for a lock another connection holds for now (worth
    trying again shortly), rather than for work that always waits (a round trip, a file).
    A ``BaseException``, as ``asyncio.CancelledError`` is, so that no ``except Exception``
    between the resource and the engine mistakes it for a failure."""

    def __init__(self, *, busy: bool = False) -> None:
        super().__init__("busy" if busy else "would wait")
        self.busy = busy


@dataclass
class QuickScope:
    """One quick try: whether it may still refuse, and the work it leaves for a thread."""

    armed: bool = True
    later: list[Callable[[], None]] = field(default_factory=list)


_SCOPE: ContextVar[QuickScope | None] = ContextVar("auterity_quick_scope", default=None)


@contextmanager
def quick_scope() -> Iterator[QuickScope]:
    """Run the body as a quick try (see the module's docstring)."""
    scope = QuickScope()
    token = _SCOPE.set(scope)
    try:
        yield scope
    finally:
        _SCOPE.reset(token)


def armed() -> bool:
    """True inside a quick try that has changed nothing yet: waiting is not allowed."""
    scope = _SCOPE.get()
    return scope is not None and scope.armed


def check() -> None:
    """Refuse (``WouldWait``) if this is a quick try that has changed nothing yet."""
    if armed():
        raise WouldWait


def changed() -> None:
    """A transaction of the quick try committed a change: from now on nothing refuses."""
    scope = _SCOPE.get()
    if scope is not None:
        scope.armed = False


def defer(work: Callable[[], None]) -> bool:
    """Leave ``work`` for a worker thread when inside a quick try (True), else False: then
    the caller, already off the loop, runs it itself."""
    scope = _SCOPE.get()
    if scope is None:
        return False
    scope.later.append(work)
    return True
