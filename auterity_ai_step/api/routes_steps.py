"""``/api/models/step/...``: what the console does with a step config before it runs:
validate it, estimate its worst case per candidate, and try it on the simulator."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from . import step_reports
from .console_models import (
    StepCheck,
    StepCheckRequest,
    StepEstimateReport,
    StepEstimateRequest,
    TryRun,
)
from .deps import CatalogDep, RedactingRoute, body_doc, http, read_json
from .models import ErrorMessage

__all__ = ["router"]

router = APIRouter(route_class=RedactingRoute)

_STORE_DOWN: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorMessage, "description": "The usage ledger could not be read"}
}
_BAD_JSON: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorMessage, "description": "The body is not valid JSON"},
    413: {"model": ErrorMessage, "description": "The body is over the router's size limit"},
    422: {"description": "The body is not JSON of the request's shape (each problem listed)"},
}


@router.post(
    "/step/validate",
    summary="Validate a step config",
    description=(
        "Checks the step against the step schema and the live policy's models, exactly "
        "as `auterity-ai-step validate` does, and lists every problem in its words."
    ),
    responses=_BAD_JSON,
    openapi_extra=body_doc(StepCheckRequest),
)
async def validate_step(request: Request, work: CatalogDep) -> StepCheck:
    body = await read_json(request, StepCheckRequest)
    return await run_in_threadpool(step_reports.check, work, body.step)


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
    openapi_extra=body_doc(StepEstimateRequest),
)
async def step_estimate(request: Request, work: CatalogDep) -> StepEstimateReport:
    body = await read_json(request, StepEstimateRequest)
    return await run_in_threadpool(http, step_reports.estimate, work, body)


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
    openapi_extra=body_doc(StepEstimateRequest),
)
async def try_step(request: Request, work: CatalogDep) -> TryRun:
    body = await read_json(request, StepEstimateRequest)
    return await step_reports.try_run(work, body)
