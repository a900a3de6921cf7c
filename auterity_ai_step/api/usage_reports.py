"""The console's usage bodies: usage per day, per-model performance with the costliest
executions and nodes, and the budget's state with the month's pace (no FastAPI here)."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from .catalog import ModelCatalog
from .console_models import (
    BudgetStatus,
    GroupBy,
    ModelPerformance,
    PerformanceReport,
    SeriesPoint,
    TopCost,
    UsageSeries,
)
from .models import money

__all__ = ["budget", "performance", "series"]


def _percent(part: int, whole: int) -> str:
    if whole == 0:
        return "0"
    return money((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01")))


def series(work: ModelCatalog, days: int, group_by: GroupBy) -> UsageSeries:
    with work.ledger_errors():
        rows = work.ledger.usage_series(days, group_by)
    points = [SeriesPoint(**{**r, "cost": money(r["cost"])}) for r in rows]
    return UsageSeries(
        days=days,
        since=(datetime.now(UTC).date() - timedelta(days=days - 1)).isoformat(),
        group_by=group_by,
        groups=sorted({p.group for p in points}),
        points=points,
    )


def performance(work: ModelCatalog, days: int, top: int) -> PerformanceReport:
    with work.ledger_errors():
        models = work.ledger.model_performance(days)
        executions = work.ledger.top_costs(days, "execution", top)
        nodes = work.ledger.top_costs(days, "node", top)
    return PerformanceReport(
        days=days,
        models=[
            ModelPerformance(**m, error_rate_percent=_percent(m["errors"], m["calls"]))
            for m in models
        ],
        top_executions=[TopCost(**{**t, "cost": money(t["cost"])}) for t in executions],
        top_nodes=[TopCost(**{**t, "cost": money(t["cost"])}) for t in nodes],
    )


def budget(work: ModelCatalog) -> BudgetStatus:
    with work.ledger_errors():
        day = work.core.budget_day()
        month = work.core.month_spent(day.today)
    today, controls = day.today, day.controls
    month_days = calendar.monthrange(today.year, today.month)[1]
    daily = day.budget
    pace = month / today.day
    return BudgetStatus(
        daily_budget=None if daily is None else money(daily),
        alert_threshold_percent=money(controls.alert_threshold),
        alert_at=None if day.alert_at is None else money(day.alert_at),
        timezone=controls.timezone,
        today=today.isoformat(),
        spent_today=money(day.spent),
        reserved_today=money(day.reserved),
        left_today=None if day.left is None else money(day.left),
        state=day.state,
        month_spent=money(month),
        month_days_elapsed=today.day,
        month_days=month_days,
        month_projection=money((pace * month_days).quantize(Decimal("0.0000000001"))),
        month_budget=None if daily is None else money(daily * month_days),
    )
