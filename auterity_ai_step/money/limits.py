"""Cost limits as guarantees: reserve an attempt's worst case before the call, settle after.

Three limits apply to every attempt, checked in this order:

- ``per_request_limit`` (policy): applies to each attempt's worst case on its own;
- ``cost_limit`` (step): all attempts of one step together (spent + reserved), in-process,
  since one step runs in one process (:class:`StepAllowance`);
- ``daily_budget`` (policy): everything on the day, in the policy's time zone, reserved
  atomically in the database so that no set of workers can overspend it.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from .. import nowait
from ..errors import LimitExceeded
from .budget_book import BudgetBook
from .prices import Price, money_text, quantize_cost
from .records import UsageRecord

if TYPE_CHECKING:
    from ..contract.policy import CostControls, Policy, PolicySource

__all__ = [
    "BudgetAlert",
    "BudgetGuard",
    "Reservation",
    "StepAllowance",
    "attempt_headroom",
    "cap_max_tokens",
]

log = logging.getLogger("auterity_ai_step.budget")
_ZERO = Decimal(0)


def _plain(amount: Decimal) -> Decimal:
    """``amount`` without the padding zeros of the ledger's scale (``0.0012870000`` is
    ``0.001287``, ``10.0000000000`` is ``10``, not ``1E+1``): the value ``money_text`` writes."""
    return Decimal(money_text(amount))


class StepAllowance:
    """One step's ``cost_limit`` shared by all its attempts (spent + reserved)."""

    def __init__(self, cost_limit: Decimal | None) -> None:
        self.cost_limit = cost_limit
        self.spent = _ZERO
        self.reserved = _ZERO
        self._lock = threading.Lock()

    def remaining(self) -> Decimal | None:
        """What the step may still reserve; ``None`` without a limit."""
        if self.cost_limit is None:
            return None
        return max(self.cost_limit - self.spent - self.reserved, _ZERO)

    def fits(self, amount: Decimal) -> bool:
        left = self.remaining()
        return left is None or amount <= left

    def reserve(self, amount: Decimal) -> None:
        """Hold ``amount``; ``LimitExceeded`` (``cost_limit``) if it does not fit."""
        with self._lock:
            left = self.remaining()
            if left is not None and amount > left:
                raise LimitExceeded(
                    f"step cost_limit {money_text(self.cost_limit or _ZERO)}: "
                    f"{money_text(left)} left, attempt needs up to {money_text(amount)}",
                    limit="cost_limit",
                    remaining=left,
                    needed=amount,
                )
            self.reserved += amount

    def settle(self, reserved: Decimal, actual: Decimal) -> None:
        with self._lock:
            self.reserved -= reserved
            self.spent += actual

    def release(self, reserved: Decimal) -> None:
        with self._lock:
            self.reserved -= reserved


@dataclass(frozen=True, slots=True)
class Reservation:
    """An attempt's held worst case: in the step's allowance and in the day's budget row."""

    amount: Decimal
    day: date
    ledger_id: int | None
    step_allowance: StepAllowance | None


@dataclass(frozen=True, slots=True)
class BudgetAlert:
    """Sent once per budget day when spend crosses ``alert_threshold`` percent.

    The amounts are exact and carry no padding zeros (``0.001287``, not the stored
    ``0.0012870000``): ``money_text(alert.spent)`` writes them as the alert's log line does,
    and ``message`` is that line.
    """

    day: date
    spent: Decimal
    daily_budget: Decimal
    threshold_percent: Decimal

    def __post_init__(self) -> None:
        for name in ("spent", "daily_budget", "threshold_percent"):
            object.__setattr__(self, name, _plain(getattr(self, name)))

    @property
    def message(self) -> str:
        """The alert in words, as logged: ``daily budget alert for <day>: spent <spent> of
        <daily_budget> (threshold <threshold_percent>%)``."""
        return (
            f"daily budget alert for {self.day.isoformat()}: spent {money_text(self.spent)} "
            f"of {money_text(self.daily_budget)} "
            f"(threshold {money_text(self.threshold_percent)}%)"
        )


def cap_max_tokens(
    price: Price,
    prompt_tokens: int,
    remaining: Decimal | None,
    minimum: int = 16,
    *,
    ceiling: int | None = None,
    limit: str = "cost_limit",
) -> int | None:
    """The most output tokens ``remaining`` pays for after the prompt, at most ``ceiling``.

    For a step without ``max_tokens``. ``None`` means no cap applies (no limit and no
    ceiling). ``LimitExceeded`` when not even ``minimum`` tokens fit: too few to be useful.
    """
    if remaining is None or price.output_per_1k == 0:
        if remaining is not None:
            prompt_cost = prompt_tokens * price.input_per_1k / 1000
            if prompt_cost > remaining:
                raise _too_small(limit, remaining, quantize_cost(prompt_cost, up=True))
        return ceiling
    left = remaining - prompt_tokens * price.input_per_1k / 1000
    tokens = math.floor(left * 1000 / price.output_per_1k) if left > 0 else 0
    if tokens < minimum:
        needed = (prompt_tokens * price.input_per_1k + minimum * price.output_per_1k) / 1000
        raise _too_small(limit, remaining, quantize_cost(needed, up=True))
    return tokens if ceiling is None else min(tokens, ceiling)


def attempt_headroom(
    controls: CostControls, allowance: StepAllowance | None = None
) -> Decimal | None:
    """The tightest in-process limit left for one attempt: what is left of the step's
    ``cost_limit`` (``allowance``) and the ``per_request_limit``; ``None`` without either."""
    limits = [controls.per_request_limit]
    if allowance is not None:
        limits.append(allowance.remaining())
    known = [value for value in limits if value is not None]
    return min(known) if known else None


def _too_small(limit: str, remaining: Decimal, needed: Decimal) -> LimitExceeded:
    return LimitExceeded(
        f"{limit}: {money_text(remaining)} left, "
        f"the smallest useful attempt needs {money_text(needed)}",
        limit=limit,
        remaining=remaining,
        needed=needed,
    )


class BudgetGuard:
    """Reserves, settles and releases attempts against all three limits; raises alerts.

    ``ledger``: any :class:`~.budget_book.BudgetBook` (the store's ``Ledger`` is one).
    """

    def __init__(
        self,
        ledger: BudgetBook,
        controls: PolicySource | Policy | CostControls | Callable[[], CostControls],
        *,
        scope: str = "global",
    ) -> None:
        self.ledger = ledger
        self.scope = scope
        self._controls = controls
        self._hooks: list[Callable[[BudgetAlert], None]] = []

    def controls(self) -> CostControls:
        """The cost controls in force now (a PolicyStore's current policy is re-read)."""
        source: Any = self._controls
        if hasattr(source, "current"):
            return source.current().cost_controls  # type: ignore[no-any-return]
        if hasattr(source, "cost_controls"):
            return source.cost_controls  # type: ignore[no-any-return]
        if callable(source):
            return source()  # type: ignore[no-any-return]
        return source  # type: ignore[no-any-return]

    def today(self, controls: CostControls | None = None) -> date:
        """The budget day: today in the policy's time zone."""
        zone = (controls or self.controls()).timezone
        return datetime.now(ZoneInfo(zone)).date()

    def on_alert(self, callback: Callable[[BudgetAlert], None]) -> Callable[[], None]:
        """Subscribe to budget alerts; returns a function that unsubscribes."""
        self._hooks.append(callback)
        return lambda: self._hooks.remove(callback)

    def headroom(
        self, step_allowance: StepAllowance | None = None, controls: CostControls | None = None
    ) -> Decimal | None:
        """The tightest in-process limit left for one attempt (step and per-request).

        ``controls``: the cost controls to use (default: read them now, which may read the
        database's model configurations; the engine passes its run's, read off the loop).
        """
        return attempt_headroom(controls or self.controls(), step_allowance)

    def reserve_attempt(
        self,
        amount: Decimal | None,
        *,
        step_allowance: StepAllowance | None = None,
        execution_id: str | None = None,
        model: str | None = None,
    ) -> Reservation:
        """Hold ``amount`` (the attempt's worst case) against every limit, or raise.

        ``amount=None`` means the model's price is unknown: refused when any limit applies,
        because an unknown cost cannot be shown to fit. With no limit at all it is let
        through with a zero reservation, and its usage is recorded at $0 (the engine logs a
        warning once per model).
        """
        controls = self.controls()
        if amount is None:
            return self._unpriced(controls, step_allowance, model, execution_id)
        limit = controls.per_request_limit
        if limit is not None and amount > limit:
            raise LimitExceeded(
                f"per_request_limit {money_text(limit)}: attempt needs up to {money_text(amount)}",
                limit="per_request_limit",
                remaining=limit,
                needed=amount,
            )
        if step_allowance is not None:
            step_allowance.reserve(amount)
        day = self.today(controls)
        try:
            ledger_id = self.ledger.reserve(
                amount,
                day=day,
                daily_budget=controls.daily_budget,
                execution_id=execution_id,
                scope=self.scope,
            )
        except BaseException:
            if step_allowance is not None:
                step_allowance.release(amount)
            raise
        return Reservation(amount, day, ledger_id, step_allowance)

    def _unpriced(
        self,
        controls: CostControls,
        allowance: StepAllowance | None,
        model: str | None,
        execution_id: str | None,
    ) -> Reservation:
        named = [
            name
            for name, value in (
                ("cost_limit", None if allowance is None else allowance.cost_limit),
                ("per_request_limit", controls.per_request_limit),
                ("daily_budget", controls.daily_budget),
            )
            if value is not None
        ]
        if named:
            raise LimitExceeded(
                f"model {model or '?'} has no known price, so it cannot run under "
                f"{named[0]}: give it input/output prices in the policy",
                limit=named[0],
                needed=None,
            )
        return Reservation(_ZERO, self.today(controls), None, allowance)

    def settle(
        self,
        reservation: Reservation,
        record: UsageRecord,
        *,
        on_deferred: Callable[[str], None] | None = None,
    ) -> None:
        """Book the actual cost and write the usage row (one transaction); alert if due.

        ``on_deferred`` hears the reason when the write waits in the ledger's outbox. In a
        quick try (:mod:`...nowait`) nothing happens before the ledger's write, which may
        refuse, and the alert's hooks are left for a worker thread.
        """
        controls = self.controls()
        budget = controls.daily_budget
        alert_at = None
        if budget is not None and budget > 0:
            alert_at = budget * controls.alert_threshold / 100
        try:
            crossed = self.ledger.settle(
                reservation.ledger_id,
                record,
                day=reservation.day,
                scope=self.scope,
                alert_at=alert_at,
                on_deferred=on_deferred,
            )
        except nowait.WouldWait:
            raise
        except BaseException:
            self._settled(reservation, record)
            raise
        self._settled(reservation, record)
        if crossed and budget is not None:
            day, threshold = reservation.day, controls.alert_threshold
            if not nowait.defer(lambda: self._alert(day, budget, threshold)):
                self._alert(day, budget, threshold)

    @staticmethod
    def _settled(reservation: Reservation, record: UsageRecord) -> None:
        """The in-process side of a settle: the step's allowance, the over-estimate warning."""
        if record.cost > reservation.amount and reservation.ledger_id is not None:
            log.warning(
                "attempt cost %s exceeded its reserved worst case %s",
                money_text(record.cost),
                money_text(reservation.amount),
            )
        if reservation.step_allowance is not None:
            reservation.step_allowance.settle(reservation.amount, record.cost)

    def release(
        self,
        reservation: Reservation,
        record: UsageRecord | None = None,
        *,
        on_deferred: Callable[[str], None] | None = None,
    ) -> None:
        """Give back a failed attempt's reservation; write its (zero-cost) row if given."""
        try:
            self.ledger.release(reservation.ledger_id, record, on_deferred=on_deferred)
        except nowait.WouldWait:  # a quick try refused: the worker thread releases it all
            raise
        except BaseException:
            self._released(reservation)
            raise
        self._released(reservation)

    @staticmethod
    def _released(reservation: Reservation) -> None:
        if reservation.step_allowance is not None:
            reservation.step_allowance.release(reservation.amount)

    def _alert(self, day: date, budget: Decimal, threshold: Decimal) -> None:
        spent, _ = self.ledger.day_status(day, self.scope)
        alert = BudgetAlert(day, spent, budget, threshold)
        log.warning("%s", alert.message)
        for hook in list(self._hooks):
            try:
                hook(alert)
            except Exception:
                log.exception("budget alert hook %r failed", hook)
