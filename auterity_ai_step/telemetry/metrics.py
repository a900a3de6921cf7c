"""The instruments: the GenAI client histograms and our own counters and gauges.

Counters and histograms count what *this process* did (sum them across workers in
Prometheus). The budget gauges are different: their callbacks read the ledger when the
metrics are collected, so every worker reports the same, database-wide figures. The
circuit and health gauges report this process's breakers and checks.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from opentelemetry.metrics import CallbackOptions, Histogram, Meter, Observation

from . import semconv as sc

__all__ = ["BudgetFigures", "Instruments", "observe_budget", "watch_breaker"]

log = logging.getLogger("auterity_ai_step.telemetry")


class Breaker(Protocol):
    """What the circuit gauge reads: ``routing.circuit.CircuitBreaker`` has it."""

    def snapshot(self) -> dict[str, dict[str, Any]]: ...


@dataclass(frozen=True)
class BudgetFigures:
    """Today's budget as the ledger has it (``daily_budget`` None: no budget set)."""

    spent: Decimal
    reserved: Decimal
    daily_budget: Decimal | None
    alert_at: Decimal | None

    @property
    def remaining(self) -> Decimal | None:
        if self.daily_budget is None:
            return None
        return max(self.daily_budget - self.spent - self.reserved, Decimal(0))


_breakers: weakref.WeakSet[Any] = weakref.WeakSet()
_seen_models: set[str] = set()
_budget_readers: list[Callable[[], BudgetFigures | None]] = []
_health: dict[tuple[str, str], int] = {}
_lock = threading.Lock()


def watch_breaker(breaker: Breaker) -> None:
    """Report ``breaker``'s circuits on the circuit-state gauge while it lives."""
    with _lock:
        _breakers.add(breaker)


def observe_budget(read: Callable[[], BudgetFigures | None]) -> Callable[[], None]:
    """Report ``read()`` on the budget gauges at every collection; returns an unsubscribe.

    ``read`` runs in the collecting thread (a scrape); returning None or raising reports
    nothing for that collection (a failure is logged).
    """
    with _lock:
        _budget_readers.append(read)

    def unsubscribe() -> None:
        with _lock:
            if read in _budget_readers:
                _budget_readers.remove(read)

    return unsubscribe


def note_health(model: str, provider: str, up: bool) -> None:
    with _lock:
        _health[(model, provider)] = 1 if up else 0


def _circuits(_options: CallbackOptions) -> Iterable[Observation]:
    worst: dict[str, int] = {}
    with _lock:
        breakers = list(_breakers)
    for breaker in breakers:
        for model, circuit in breaker.snapshot().items():
            value = sc.CIRCUIT_VALUES.get(str(circuit.get("state")), 0)
            worst[model] = max(worst.get(model, 0), value)
    with _lock:
        _seen_models.update(worst)
        seen = sorted(_seen_models)
    return [Observation(worst.get(m, 0), {sc.GEN_AI_REQUEST_MODEL: m}) for m in seen]


def _health_up(_options: CallbackOptions) -> Iterable[Observation]:
    with _lock:
        known = dict(_health)
    return [
        Observation(up, {sc.GEN_AI_REQUEST_MODEL: m, sc.GEN_AI_PROVIDER_NAME: p})
        for (m, p), up in sorted(known.items())
    ]


def _budget(
    pick: Callable[[BudgetFigures], Decimal | None],
) -> Callable[..., Iterable[Observation]]:
    def observe(_options: CallbackOptions) -> Iterable[Observation]:
        with _lock:
            readers = list(_budget_readers)
        out = []
        for read in readers[-1:]:  # one ledger: the latest registered reader speaks for it
            try:
                figures = read()
            except Exception as exc:
                log.warning("budget gauges not read: %s", type(exc).__name__)
                continue
            value = None if figures is None else pick(figures)
            if value is not None:
                out.append(Observation(float(value)))
        return out

    return observe


def _histogram(
    meter: Meter, name: str, unit: str, description: str, buckets: tuple[float, ...]
) -> Histogram:
    try:  # the bucket advice needs opentelemetry-api 1.23 or later
        return meter.create_histogram(
            name, unit=unit, description=description, explicit_bucket_boundaries_advisory=buckets
        )
    except TypeError:  # pragma: no cover - older API (the host pins 1.21)
        return meter.create_histogram(name, unit=unit, description=description)


class Instruments:
    """Every instrument, created once per meter."""

    def __init__(self, meter: Meter) -> None:
        self.token_usage = _histogram(
            meter,
            sc.TOKEN_USAGE,
            "{token}",
            "Measures number of input and output tokens used",
            sc.TOKEN_BUCKETS,
        )
        self.duration = _histogram(
            meter,
            sc.OPERATION_DURATION,
            "s",
            "GenAI operation duration",
            sc.DURATION_BUCKETS_S,
        )
        self.cost = meter.create_counter(
            sc.COST, unit="{USD}", description="Cost of provider calls in US dollars (this process)"
        )
        self.steps = meter.create_counter(
            sc.STEPS, unit="{step}", description="AI steps run, by outcome (this process)"
        )
        self.fallbacks = meter.create_counter(
            sc.FALLBACKS,
            unit="{fallback}",
            description="Fallback models tried by steps, by model (this process)",
        )
        self.refusals = meter.create_counter(
            sc.REFUSALS,
            unit="{refusal}",
            description="Candidates refused by a cost limit or the daily budget (this process)",
        )
        self.budget_alerts = meter.create_counter(
            sc.BUDGET_ALERTS,
            unit="{alert}",
            description="Daily budget alerts raised (alert_threshold crossed; this process)",
        )
        self.health_duration = _histogram(
            meter,
            sc.HEALTH_CHECK_DURATION,
            "s",
            "Active health check latency, by model and result (this process)",
            sc.DURATION_BUCKETS_S,
        )
        meter.create_observable_gauge(
            sc.CIRCUIT_STATE,
            callbacks=[_circuits],
            unit="1",
            description="Circuit per model in this process: 0 closed, 1 half-open, 2 open",
        )
        meter.create_observable_gauge(
            sc.HEALTH_UP,
            callbacks=[_health_up],
            unit="1",
            description="Last active health check per model in this process: 1 up, 0 down",
        )
        for name, pick, description in _BUDGET_GAUGES:
            meter.create_observable_gauge(
                name, callbacks=[_budget(pick)], unit="{USD}", description=description
            )


_BUDGET_GAUGES: tuple[tuple[str, Callable[[BudgetFigures], Decimal | None], str], ...] = (
    (sc.BUDGET_SPENT_TODAY, lambda f: f.spent, "Spent today, all workers (read from the ledger)"),
    (
        sc.BUDGET_RESERVED_TODAY,
        lambda f: f.reserved,
        "Reserved by running attempts today, all workers (read from the ledger)",
    ),
    (
        sc.BUDGET_REMAINING,
        lambda f: f.remaining,
        "Daily budget left after spent and reserved (read from the ledger; absent: no budget)",
    ),
    (sc.BUDGET_DAILY, lambda f: f.daily_budget, "The policy's daily budget"),
    (sc.BUDGET_ALERT_AT, lambda f: f.alert_at, "Spend at which the daily budget alert fires"),
)


def model_attributes(model: str, provider: str) -> Mapping[str, str]:
    return {
        sc.GEN_AI_OPERATION_NAME: sc.OPERATION_CHAT,
        sc.GEN_AI_PROVIDER_NAME: sc.provider_name(provider),
        sc.GEN_AI_REQUEST_MODEL: model,
    }
