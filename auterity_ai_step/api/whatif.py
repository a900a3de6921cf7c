"""``POST /api/models/whatif``: the ``whatif`` replay over HTTP, for hosts and the console.

The candidate policy comes in the body (a policy document as a JSON object, or its YAML as
a string; none means the live policy) and is read with the ledger's stored model
configurations on top, as the CLI reads ``--policy``. The replay reads the ledger only and
calls no model. The route inherits the router's authentication, body limit and redaction.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, HTTPException
from fastapi.concurrency import run_in_threadpool
from fastapi.requests import Request
from pydantic import BaseModel, ConfigDict, Field

from ..contract.policy import Policy, parse_policy
from ..core.whatif import what_if
from ..errors import PolicyError
from .catalog import ApiError, ModelCatalog
from .deps import CatalogDep, RedactingRoute, read_json
from .fields import Money
from .models import ErrorMessage

__all__ = ["WhatIfRequest", "WhatIfResult", "router"]

router = APIRouter(route_class=RedactingRoute)
SignedMoney = Annotated[
    str,
    Field(
        pattern=r"^-?[0-9]+(\.[0-9]+)?$",
        description="US dollars as an exact decimal string, negative when now is cheaper",
    ),
]


class WhatIfRequest(BaseModel):
    """Which recorded steps to replay, and under which policy."""

    model_config = ConfigDict(extra="forbid")

    policy: dict[str, Any] | str | None = Field(
        default=None,
        description="The candidate policy: a policy document as an object, or its YAML text; "
        "null replays under the live policy",
    )
    days: int = Field(default=7, ge=1, le=366, description="Days back, today (UTC) included")
    since: date | None = Field(
        default=None, description="Replay from this UTC day on instead of `days`"
    )
    execution_id: str | None = Field(
        default=None, max_length=255, description="Only the steps of one execution"
    )


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Totals(_Out):
    steps_then: int
    steps_now: int
    cost_then: Money
    cost_now: Money
    difference: SignedMoney


class GroupTotals(Totals):
    name: str = Field(description="The model, task type or workflow node")


class DayModelTotals(Totals):
    day: str = Field(description="The budget day (the candidate's time zone)")
    model: str


class RefusedStep(_Out):
    execution_id: str | None
    node_id: str | None
    at: datetime
    limit: str = Field(description="cost_limit, per_request_limit, daily_budget, no_candidate")
    reason: str


class ContextMiss(_Out):
    execution_id: str | None
    node_id: str | None
    model: str
    context_window: int
    needed: int = Field(description="Prompt tokens plus the output reserved")
    routed_to: str | None


class BudgetDay(_Out):
    day: str
    budget: Money
    spent: Money
    refused_steps: int
    ran_out_at: datetime | None = Field(description="The first step the budget refused")
    alert_at: datetime | None = Field(
        description="When spend would have crossed alert_threshold percent of the budget"
    )


class WhatIfResult(_Out):
    """The replay's report: as ``auterity-ai-step whatif --json`` prints it."""

    policy_version: str
    since: datetime | None
    execution_id: str | None
    steps: int = Field(description="Recorded steps replayed")
    unanswered_then: int = Field(description="Steps with no answer then: not priced now")
    old_steps: int = Field(description="Steps recorded before the ledger kept their routing")
    total: Totals
    cost_now_estimate: Money = Field(
        description="Cost now with token counts rescaled by tokenizer ratios: an estimate"
    )
    estimated_steps: int
    unestimated_steps: int
    truncated_steps: int = Field(description="Answers longer than the candidate's max_tokens")
    by_model: list[GroupTotals]
    by_task_type: list[GroupTotals]
    by_node: list[GroupTotals]
    by_day_model: list[DayModelTotals]
    refused_steps: int
    refused_by_limit: dict[str, int]
    refused: list[RefusedStep] = Field(description="The first 50 refused steps")
    context_miss_steps: int
    context_misses: list[ContextMiss] = Field(description="The first 50")
    budget_days: list[BudgetDay]
    caveats: list[str] = Field(description="What a replay cannot know")


def _candidate(work: ModelCatalog, body: WhatIfRequest) -> Policy:
    if body.policy is None:
        return work.store.current()
    document: Any = body.policy
    if isinstance(document, str):
        try:
            document = yaml.safe_load(document)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise ApiError(422, f"policy: not valid YAML{where}; send a policy document") from None
    with work.ledger_errors():
        _, overrides = work.ledger.model_configurations()
    try:
        return parse_policy(document, source="policy", overrides=overrides)
    except PolicyError as exc:
        raise ApiError(422, work.redact(str(exc))[:2000]) from None


def _start(body: WhatIfRequest) -> datetime:
    if body.since is not None:
        return datetime.combine(body.since, time(), tzinfo=UTC)
    today = datetime.now(UTC).date()
    return datetime.combine(today - timedelta(days=body.days - 1), time(), tzinfo=UTC)


def replay(work: ModelCatalog, body: WhatIfRequest) -> WhatIfResult:
    """The replay for one request (runs in a worker thread: it reads the ledger)."""
    candidate = _candidate(work, body)
    with work.ledger_errors():
        report = what_if(candidate, work.ledger, since=_start(body), execution_id=body.execution_id)
    return WhatIfResult.model_validate(report.to_data())


@router.post(
    "/whatif",
    summary="Replay the recorded steps under another policy",
    description=(
        "What the steps recorded since `since` (or in the last `days`) would have cost, "
        "and where they would have gone, under the candidate policy: totals then and now "
        "by model, task type, workflow node and day; the steps a limit or the daily "
        "budget would have refused, with the day it ran out; the models whose context "
        "window is too small. Routing uses the engine's own planning code. No model is "
        "called and nothing is written."
    ),
    responses={
        400: {"model": ErrorMessage, "description": "The body is not valid JSON"},
        413: {"model": ErrorMessage, "description": "The body is over the router's size limit"},
        422: {
            "description": "The body is not JSON of the request's shape (each problem listed), "
            "or the candidate policy is invalid (`detail` says why)"
        },
        503: {"model": ErrorMessage, "description": "The usage ledger could not be read"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": WhatIfRequest.model_json_schema()}},
        }
    },
)
async def whatif(request: Request, work: CatalogDep) -> WhatIfResult:
    """Replay the recorded steps under the candidate policy (the ledger is read only)."""
    body: WhatIfRequest = await read_json(request, WhatIfRequest)
    try:
        result: WhatIfResult = await run_in_threadpool(replay, work, body)
    except ApiError as exc:
        raise HTTPException(exc.status, exc.detail, headers=exc.headers) from exc
    return result
