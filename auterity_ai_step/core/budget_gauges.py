"""Today's budget on the metrics: the gauges read the ledger when they are collected.

Read at collection (a scrape), not counted in process, so every worker of a deployment
reports the same database-wide figures: spent and reserved today, the daily budget, what
is left of it, and the spend at which the daily alert fires. A host that runs its own
OpenTelemetry meter provider calls :func:`watch_budget` once at start-up; ``serve`` does.
"""

from __future__ import annotations

from collections.abc import Callable

from .. import telemetry
from ..money.limits import BudgetGuard
from ..store.ledger import Ledger
from ..telemetry.prometheus import PrometheusMetrics
from .policy_source import PolicyStore

__all__ = ["prometheus_metrics", "read_budget", "watch_budget"]


def read_budget(ledger: Ledger, policy_store: PolicyStore) -> telemetry.BudgetFigures:
    """Today's figures as the console's budget view computes them (one ledger read)."""
    controls = policy_store.current().cost_controls
    today = BudgetGuard(ledger, controls).today(controls)
    spent, reserved = ledger.day_status(today)
    budget = controls.daily_budget
    alert_at = None if budget is None else budget * controls.alert_threshold / 100
    return telemetry.BudgetFigures(spent, reserved, budget, alert_at)


def watch_budget(ledger: Ledger, policy_store: PolicyStore) -> Callable[[], None]:
    """Report the ledger's budget figures on the budget gauges; returns an unsubscribe."""
    return telemetry.observe_budget(lambda: read_budget(ledger, policy_store))


def prometheus_metrics(ledger: Ledger, policy_store: PolicyStore) -> PrometheusMetrics:
    """``serve``'s ``/metrics``: the package's instruments bound to a Prometheus reader and
    the budget gauges reading ``ledger``. ImportError (naming the otel extra) without it."""
    metrics = PrometheusMetrics()
    metrics.bind()
    metrics.on_close(watch_budget(ledger, policy_store))
    return metrics
