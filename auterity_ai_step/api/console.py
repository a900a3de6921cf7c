"""The console's API routes, added to the ``/api/models`` router, and the console's files.

:func:`add_console_routes` puts on the router what the web console reads beyond the model
management routes: usage per day and per model or provider, per-model performance with the
costliest executions and nodes, the budget's state and the month's pace, a step's
validation (the CLI ``validate`` words) and worst-case estimate, and a stream of model
status. The routes inherit the router's authentication, prefix and 422 redaction.

Live status is a server-sent event stream (``GET /status/stream``): one connection, an event
only when a model's status changes, and a comment every 15 s to keep proxies from closing
it. Browsers read it with ``fetch`` (not ``EventSource``, which cannot send the
``Authorization`` header), so the token never goes into a URL.

:func:`console_files` is the built console (``console_dist/``) as an ASGI app that
``serve`` mounts at ``/`` and a host may mount wherever it likes beside the router.
"""

from __future__ import annotations

import asyncio
import calendar
import json
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from ..contract.step import validate_step_config
from ..core.estimate import CandidateEstimate, estimate_step
from ..errors import StepConfigError, TemplateError
from ..money.limits import BudgetGuard
from ..routing.candidates import Skipped
from ..routing.health import HealthStatus
from .catalog import ApiError, ModelCatalog
from .console_models import (
    BudgetStatus,
    CandidateCost,
    GroupBy,
    ModelPerformance,
    ModelStatusEvent,
    PerformanceReport,
    SeriesPoint,
    SkippedCandidate,
    StepCheck,
    StepCheckRequest,
    StepEstimateReport,
    StepEstimateRequest,
    TopCost,
    TryAttempt,
    TryRun,
    UsageSeries,
)
from .models import ErrorMessage, money

__all__ = ["CONSOLE_DIR", "add_console_routes", "console_files"]

#: The built console inside the package (``npm run build`` in ``web/`` writes it).
CONSOLE_DIR = Path(str(files("auterity_ai_step") / "console_dist"))
KEEPALIVE_S = 15.0
_STORE_DOWN: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorMessage, "description": "The usage ledger could not be read"}
}
_BAD_JSON: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorMessage, "description": "The body is not valid JSON"},
    413: {"model": ErrorMessage, "description": "The body is over the router's size limit"},
    422: {"description": "The body is not JSON of the request's shape (each problem listed)"},
}
_Days = Annotated[
    int,
    Query(ge=1, le=366, description="Days to cover: today (UTC) and the days before it"),
]


def console_files() -> StaticFiles:
    """The built console as an ASGI app (``index.html`` at its root)."""
    return StaticFiles(directory=CONSOLE_DIR, html=True, check_dir=False)


def _percent(part: int, whole: int) -> str:
    if whole == 0:
        return "0"
    return money((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01")))


def _event(status: HealthStatus, reason: str | None) -> ModelStatusEvent:
    return ModelStatusEvent(
        model=status.model,
        status=status.status,
        circuit=status.circuit,
        latency_ms=None if status.latency_ms is None else round(status.latency_ms, 1),
        checked_at=status.checked_at,
        reason=reason or status.error,
    )


class ConsoleReports:
    """What the console routes compute, apart from HTTP; shares the router's catalog."""

    def __init__(self, work: ModelCatalog) -> None:
        self.work = work

    def series(self, days: int, group_by: GroupBy) -> UsageSeries:
        with self.work.ledger_errors():
            rows = self.work.ledger.usage_series(days, group_by)
        points = [SeriesPoint(**{**r, "cost": money(r["cost"])}) for r in rows]
        return UsageSeries(
            days=days,
            since=(datetime.now(UTC).date() - timedelta(days=days - 1)).isoformat(),
            group_by=group_by,
            groups=sorted({p.group for p in points}),
            points=points,
        )

    def performance(self, days: int, top: int) -> PerformanceReport:
        with self.work.ledger_errors():
            models = self.work.ledger.model_performance(days)
            executions = self.work.ledger.top_costs(days, "execution", top)
            nodes = self.work.ledger.top_costs(days, "node", top)
        return PerformanceReport(
            days=days,
            models=[
                ModelPerformance(**m, error_rate_percent=_percent(m["errors"], m["calls"]))
                for m in models
            ],
            top_executions=[TopCost(**{**t, "cost": money(t["cost"])}) for t in executions],
            top_nodes=[TopCost(**{**t, "cost": money(t["cost"])}) for t in nodes],
        )

    def budget(self) -> BudgetStatus:
        controls = self.work.store.current().cost_controls
        today = BudgetGuard(self.work.ledger, controls).today(controls)
        month_days = calendar.monthrange(today.year, today.month)[1]
        with self.work.ledger_errors():
            spent, reserved = self.work.ledger.day_status(today)
            month = self.work.ledger.budget_spent_between(today.replace(day=1), today)
        budget = controls.daily_budget
        alert_at = None if budget is None else budget * controls.alert_threshold / 100
        left = None if budget is None else max(budget - spent - reserved, Decimal(0))
        if budget is None or alert_at is None or left is None:
            state = "no_budget"
        elif left == 0:
            state = "exhausted"
        elif spent + reserved >= alert_at:
            state = "alert"
        else:
            state = "ok"
        pace = month / today.day
        return BudgetStatus(
            daily_budget=None if budget is None else money(budget),
            alert_threshold_percent=money(controls.alert_threshold),
            alert_at=None if alert_at is None else money(alert_at),
            timezone=controls.timezone,
            today=today.isoformat(),
            spent_today=money(spent),
            reserved_today=money(reserved),
            left_today=None if left is None else money(left),
            state=state,
            month_spent=money(month),
            month_days_elapsed=today.day,
            month_days=month_days,
            month_projection=money((pace * month_days).quantize(Decimal("0.0000000001"))),
            month_budget=None if budget is None else money(budget * month_days),
        )

    def check(self, step: dict[str, Any]) -> StepCheck:
        try:
            config = validate_step_config(step, self.work.store.current())
        except StepConfigError as exc:
            return StepCheck(
                valid=False,
                legacy="config_version" not in step,
                errors=[self.work.redact(e) for e in exc.errors],
            )
        return StepCheck(valid=True, legacy=config.legacy, errors=[])

    def estimate(self, body: StepEstimateRequest) -> StepEstimateReport:
        policy = self.work.store.current()
        try:
            with self.work.ledger_errors():
                report = estimate_step(body.step, body.input, policy, ledger=self.work.ledger)
                alone = [
                    estimate_step(
                        {
                            **body.step,
                            "model": name,
                            "fallback_models": [],
                            "policy_fallbacks": False,
                        },
                        body.input,
                        policy,
                        ledger=self.work.ledger,
                    )
                    for name in (policy.model_names if body.each_model else ())
                ]
        except StepConfigError as exc:
            raise ApiError(
                422,
                {
                    "message": "the step is not valid",
                    "errors": [self.work.redact(e) for e in exc.errors],
                },
            ) from exc
        except TemplateError as exc:
            raise ApiError(
                422,
                {
                    "message": "the prompt cannot be rendered",
                    "errors": [self.work.redact(str(exc))],
                },
            ) from exc
        return StepEstimateReport(
            prompt_tokens=report.prompt_tokens,
            daily_left=None if report.daily_left is None else money(report.daily_left),
            candidates=[self._cost(row) for row in report.rows],
            skipped=[self._skipped(s) for s in report.skipped],
            each_model=[self._cost(one.rows[0]) for one in alone if one.rows],
        )

    def _cost(self, row: CandidateEstimate) -> CandidateCost:
        return CandidateCost(
            model=row.model,
            max_tokens=row.max_tokens,
            worst_case=None if row.worst_case is None else money(row.worst_case),
            fits_cost_limit=row.fits_cost_limit,
            fits_per_request=row.fits_per_request,
            fits_daily=row.fits_daily,
            refused=None if row.refused is None else self.work.redact(row.refused),
        )

    def _skipped(self, skipped: Skipped) -> SkippedCandidate:
        return SkippedCandidate(model=skipped.model, reason=self.work.redact(skipped.reason))

    async def try_run(self, body: StepEstimateRequest) -> TryRun:
        """Run the step on the built-in simulator with a throwaway ledger: the real ledger,
        budget and circuits are untouched and no provider is called."""
        from ..cli.demo import simulated_policy
        from ..core.executor import AIStepExecutor
        from ..core.host import WorkflowNode
        from ..core.policy_source import PolicyStore
        from ..simulator.server import Scenario, Simulator
        from ..store.ledger import Ledger

        with tempfile.TemporaryDirectory(prefix="auterity-try-") as scratch:
            ledger = Ledger(f"sqlite:///{Path(scratch) / 'try.db'}")
            try:
                async with Simulator(Scenario()) as sim:
                    policy = simulated_policy(self.work.store.current(), sim.base_url)
                    executor = AIStepExecutor(policy_store=PolicyStore.fixed(policy), ledger=ledger)
                    node = WorkflowNode("try-it", "ai", dict(body.step))
                    result = await executor.execute_step(node, dict(body.input), "console-try")
            finally:
                ledger.close()
        out = result.output_data
        return TryRun(
            success=result.success,
            response=out.get("ai_response"),
            model=out.get("ai_model"),
            cost=str(out.get("ai_cost", "0")),
            error=None if result.error_message is None else self.work.redact(result.error_message),
            error_type=out.get("ai_error_type"),
            attempts=[
                TryAttempt(
                    attempt=a["attempt"],
                    model=a["model"],
                    outcome=a["outcome"],
                    error_type=a["error_type"],
                    latency_ms=a["latency_ms"],
                    total_tokens=a["total_tokens"],
                    cost=a["cost"],
                    is_fallback=a["is_fallback"],
                )
                for a in out.get("ai_attempts", [])
            ],
        )

    def statuses(self) -> list[ModelStatusEvent]:
        breaker = self.work.monitor.breaker
        return [
            _event(seen, breaker.reason(name))
            for name, seen in sorted(self.work.monitor.status().items())
        ]

    async def stream(self, request: Request, interval_s: float) -> AsyncIterator[str]:
        """``status`` events when anything changed, keep-alive comments in between."""
        last: str | None = None
        quiet = 0.0
        while not await request.is_disconnected():
            snapshot = json.dumps(
                [json.loads(e.model_dump_json()) for e in self.statuses()], sort_keys=True
            )
            if snapshot != last:
                last, quiet = snapshot, 0.0
                yield f"event: status\ndata: {self.work.redact(snapshot)}\n\n"
            elif quiet >= KEEPALIVE_S:
                quiet = 0.0
                yield ": keep-alive\n\n"
            await self._pause(request, interval_s)
            quiet += interval_s

    @staticmethod
    async def _pause(request: Request, seconds: float) -> None:
        """Sleep ``seconds``, ending early when the client has gone (checked every 0.2 s)."""
        left = seconds
        while left > 0 and not await request.is_disconnected():
            await asyncio.sleep(min(0.2, left))
            left -= 0.2


def _http(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except ApiError as exc:
        raise HTTPException(exc.status, exc.detail) from exc


BodyModel = TypeVar("BodyModel", bound=BaseModel)
#: Reads a route's JSON body as a model, only after authentication and within the size
#: limit (``api.read_model``): FastAPI would read a declared body parameter first.
BodyReader = Callable[[Request, type[BodyModel]], Awaitable[BodyModel]]


def _body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI requestBody of a route that reads its body itself."""
    schema = model.model_json_schema()
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def add_console_routes(router: APIRouter, work: ModelCatalog, read_json: BodyReader[Any]) -> None:
    """Add the console's routes to the ``/api/models`` router built on ``work``.

    ``read_json`` reads a POST body after the router's authentication has run."""
    reports = ConsoleReports(work)

    @router.get(
        "/usage/series",
        summary="Usage per day, by model or by provider",
        description=(
            "Calls, errors, tokens and cost per UTC day and per model (or provider) for the "
            "last `days` days: the data of a stacked cost-per-day chart."
        ),
        responses=_STORE_DOWN,
    )
    def usage_series(days: _Days = 30, group_by: GroupBy = "model") -> UsageSeries:
        result: UsageSeries = _http(reports.series, days, group_by)
        return result

    @router.get(
        "/usage/performance",
        summary="Latency, error rate and fallbacks per model; costliest executions and nodes",
        description=(
            "Per model over the last `days` days: calls, error rate, fallbacks and nearest-"
            "rank p50/p95 latency; plus the `top` executions and workflow nodes by cost."
        ),
        responses=_STORE_DOWN,
    )
    def usage_performance(
        days: _Days = 30,
        top: Annotated[int, Query(ge=1, le=50, description="How many to list")] = 5,
    ) -> PerformanceReport:
        result: PerformanceReport = _http(reports.performance, days, top)
        return result

    @router.get(
        "/budget",
        summary="Today's spend against the daily budget, and the month's pace",
        description=(
            "The daily budget, the alert threshold and the spend at which it alerts, today's "
            "spent, reserved and remaining amounts with a state, and this month's spend with "
            "its projection at the current daily pace. Days are the budget's timezone's."
        ),
        responses=_STORE_DOWN,
    )
    def budget() -> BudgetStatus:
        result: BudgetStatus = _http(reports.budget)
        return result

    @router.post(
        "/step/validate",
        summary="Validate a step config",
        description=(
            "Checks the step against the step schema and the live policy's models, exactly "
            "as `auterity-ai-step validate` does, and lists every problem in its words."
        ),
        responses=_BAD_JSON,
        openapi_extra=_body_doc(StepCheckRequest),
    )
    async def validate_step(request: Request) -> StepCheck:
        body = await read_json(request, StepCheckRequest)
        return await run_in_threadpool(reports.check, body.step)

    @router.post(
        "/step/estimate",
        summary="Worst-case cost of a step per candidate model",
        description=(
            "Renders the step's prompt with `input`, counts its tokens offline and gives each "
            "candidate's worst case against the step's cost_limit, the per-request limit and "
            "what is left of today's budget, as `auterity-ai-step estimate` does. No model "
            "is called. An invalid step is a 422 listing the `validate` errors."
        ),
        responses={
            422: {"description": "The step is invalid or its prompt cannot render"},
            **_BAD_JSON,
            **_STORE_DOWN,
        },
        openapi_extra=_body_doc(StepEstimateRequest),
    )
    async def step_estimate(request: Request) -> StepEstimateReport:
        body = await read_json(request, StepEstimateRequest)
        result: StepEstimateReport = await run_in_threadpool(_http, reports.estimate, body)
        return result

    @router.post(
        "/step/try",
        summary="Try a step on the built-in simulator",
        description=(
            "Runs the step through the executor exactly as a workflow would, but against the "
            "loopback provider simulator (every model answers) and a throwaway ledger: no "
            "provider is called and the ledger, budget and circuits are not touched. Returns "
            "the answer and every attempt; a step that fails says why, as the executor does."
        ),
        responses=_BAD_JSON,
        openapi_extra=_body_doc(StepEstimateRequest),
    )
    async def try_step(request: Request) -> TryRun:
        body = await read_json(request, StepEstimateRequest)
        return await reports.try_run(body)

    @router.get(
        "/status",
        summary="Every model's live status",
        description=(
            "Each model's last known status, latency, last check, circuit state and the "
            "reason it is down; the same list the status stream sends."
        ),
    )
    def status() -> list[ModelStatusEvent]:
        return reports.statuses()

    @router.get(
        "/status/stream",
        summary="Server-sent events of model status",
        description=(
            "A `text/event-stream`: a `status` event carrying the `/status` list at once and "
            "whenever it changes, and a comment every 15 s. Read it with fetch and the "
            "Authorization header (EventSource cannot send it; never put a token in a URL)."
        ),
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    async def status_stream(
        request: Request,
        interval_s: Annotated[
            float, Query(ge=0.2, le=60, description="Seconds between looks for a change")
        ] = 2.0,
    ) -> StreamingResponse:
        return StreamingResponse(
            reports.stream(request, interval_s),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
