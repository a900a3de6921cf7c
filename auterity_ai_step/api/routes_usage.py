"""``/api/models`` routes about spending: usage totals and per day, one execution's
attempts, per-model performance, and the budget's state."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from . import usage_reports
from .console_models import BudgetStatus, GroupBy, PerformanceReport, UsageSeries
from .deps import STORE_DOWN, CatalogDep, RedactingRoute, http
from .models import ErrorMessage, ExecutionUsage, UsageReport

__all__ = ["router"]

router = APIRouter(route_class=RedactingRoute)

_READ_DOWN: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorMessage, "description": "The usage ledger could not be read"}
}
_Days = Annotated[
    int,
    Query(ge=1, le=366, description="Days to cover: today (UTC) and the days before it"),
]


@router.get(
    "/usage",
    summary="Tokens and cost by model and by day, with the budget figures",
    description=(
        "Totals for the last `days` UTC days (today included), optionally for one model, "
        "plus the daily budget and today's spent, reserved and remaining amounts."
    ),
    responses=STORE_DOWN,
)
def usage(
    work: CatalogDep,
    days: Annotated[
        int,
        Query(
            ge=1,
            le=90,
            description="Days to cover: today (UTC) and the days before it, 1 to 90",
            examples=[7],
        ),
    ] = 7,
    model: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Only this model's attempts (the budget figures stay for all models)",
        ),
    ] = None,
) -> UsageReport:
    return http(work.usage, days, model)


@router.get(
    "/executions/{execution_id}/usage",
    summary="Every attempt recorded against one workflow execution",
    description="The execution's ledger rows, oldest first, with totals; empty if none.",
    responses=STORE_DOWN,
)
def execution_usage(
    work: CatalogDep,
    execution_id: Annotated[
        str,
        Path(
            min_length=1,
            max_length=200,
            description="The workflow execution's id, as recorded with its attempts",
        ),
    ],
) -> ExecutionUsage:
    return http(work.execution_usage, execution_id)


@router.get(
    "/usage/series",
    summary="Usage per day, by model or by provider",
    description=(
        "Calls, errors, tokens and cost per UTC day and per model (or provider) for the "
        "last `days` days: the data of a stacked cost-per-day chart."
    ),
    responses=_READ_DOWN,
)
def usage_series(work: CatalogDep, days: _Days = 30, group_by: GroupBy = "model") -> UsageSeries:
    return http(usage_reports.series, work, days, group_by)


@router.get(
    "/usage/performance",
    summary="Latency, error rate and fallbacks per model; costliest executions and nodes",
    description=(
        "Per model over the last `days` days: calls, error rate, fallbacks and nearest-"
        "rank p50/p95 latency; plus the `top` executions and workflow nodes by cost."
    ),
    responses=_READ_DOWN,
)
def usage_performance(
    work: CatalogDep,
    days: _Days = 30,
    top: Annotated[int, Query(ge=1, le=50, description="How many to list")] = 5,
) -> PerformanceReport:
    return http(usage_reports.performance, work, days, top)


@router.get(
    "/budget",
    summary="Today's spend against the daily budget, and the month's pace",
    description=(
        "The daily budget, the alert threshold and the spend at which it alerts, today's "
        "spent, reserved and remaining amounts with a state, and this month's spend with "
        "its projection at the current daily pace. Days are the budget's timezone's."
    ),
    responses=_READ_DOWN,
)
def budget(work: CatalogDep) -> BudgetStatus:
    return http(usage_reports.budget, work)
