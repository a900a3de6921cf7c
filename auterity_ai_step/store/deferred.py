"""Writes after a paid call never lose a row: write now, or keep it in the outbox and replay.

When a :class:`~.budget_book.Booking` fails, for whatever reason, it goes to the outbox
(``outbox.py``) with the reason and is replayed before a later write or by :meth:`flush`;
the caller hears of it (``on_deferred``). Records are storable by construction
(``records.py``), so a failure is the database's, not the values'.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from .. import nowait
from .budget_book import Booking, BudgetBook
from .connect import db_reason, unreachable
from .outbox import Outbox

__all__ = ["REFUSED_RETRY_S", "DeferredWrites"]

log = logging.getLogger("auterity_ai_step.store")
#: How often writes retry outbox entries the database refused (not ones it could not reach).
REFUSED_RETRY_S = 30.0


class DeferredWrites:
    """Bookings written through ``book``, or kept in ``outbox`` until the database takes them."""

    def __init__(self, book: BudgetBook, outbox: Outbox) -> None:
        self.book = book
        self.outbox = outbox
        # When only refused entries wait, writes retry them at most this often (monotonic).
        self._next_retry_of_refused = 0.0

    def write(self, booking: Booking, on_deferred: Callable[[str], None] | None) -> bool:
        """Write now (what ``BudgetBook.apply`` returns), or keep it and say why (False).

        Whatever the database answers, a paid call's row is never dropped: an unreachable
        database and a refused statement alike leave the write in the outbox, its
        reservation stays in the database (expiry charges it if no replay settles it first),
        and ``on_deferred`` hears the reason.
        """
        if self.outbox.has_pending() and time.monotonic() >= self._next_retry_of_refused:
            nowait.check()  # replaying the outbox is many transactions: not a quick try
            self.flush()
        try:
            return self.book.apply(booking)
        except SQLAlchemyError as exc:
            reason = db_reason(exc)
            if unreachable(exc):
                log.warning(
                    "ledger database unreachable (%s); %s kept in the outbox %s",
                    exc.__class__.__name__,
                    booking.kind,
                    self.outbox.path,
                )
            else:
                log.error(
                    "ledger write refused (%s); %s kept in the outbox %s",
                    exc.__class__.__name__,
                    booking.kind,
                    self.outbox.path,
                )
            self.outbox.add({**booking.to_data(), "reason": reason})
            if on_deferred is not None:
                on_deferred(reason)
            return False

    def flush(self) -> int:
        """Write what the outbox holds; returns how many entries were written."""

        def apply(entry: dict[str, Any]) -> None:
            self.book.apply(Booking.from_data(entry))

        written = self.outbox.drain(apply, stop=unreachable)
        if self.outbox.refused and not written:
            # Only writes the database refuses are left: retrying them before every write
            # would cost each write a failed transaction and a rewrite of the spool file.
            self._next_retry_of_refused = time.monotonic() + REFUSED_RETRY_S
        else:
            self._next_retry_of_refused = 0.0
        if written:
            log.info("ledger outbox: wrote %d pending entries", written)
        return written
