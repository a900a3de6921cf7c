"""``/api/models`` routes about the models themselves: the catalog, a health check now,
recommendations for a task, and the step schema a builder form renders."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from ..contract.step import step_schema
from .deps import (
    STORE_DOWN,
    TOO_LARGE,
    CallerDep,
    CatalogDep,
    RedactingRoute,
    body_errors,
    http_async,
    read_body,
)
from .models import (
    AvailableModels,
    ErrorMessage,
    HealthCheckRequest,
    HealthCheckResult,
    Preference,
    Recommendations,
    UnknownModel,
)

__all__ = ["router"]

router = APIRouter(route_class=RedactingRoute)


@router.get(
    "/available",
    summary="List every model with prices, limits, capabilities and health",
    description=(
        "Every model of the live policy: provider, prices per 1k input and output tokens "
        "(decimal strings), context window, max output tokens, capabilities, use cases, "
        "and the last known health and latency. No provider is called."
    ),
)
def available(work: CatalogDep) -> AvailableModels:
    return work.available()


@router.post(
    "/health-check",
    summary="Check one model now",
    description=(
        "Runs a real, cheap request against the model (at most 5 s) and returns its status "
        'and latency. Name the model in the body (`{"model": "gpt-4o-mini"}`) or in the '
        "`model` query parameter. An unknown model is a 404 listing the known ones."
    ),
    responses={
        404: {"model": UnknownModel, "description": "Unknown model; the known ones listed"},
        **TOO_LARGE,
        429: {
            "model": ErrorMessage,
            "description": "This caller's health checks per window are used up (see "
            "Retry-After), or the budget has no room for one",
        },
        **STORE_DOWN,
    },
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {
                "application/json": {
                    "schema": HealthCheckRequest.model_json_schema(),
                    "example": {"model": "gpt-4o-mini"},
                }
            },
        }
    },
)
async def health_check(
    request: Request,
    who: CallerDep,
    model: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="The model's name in the live policy, if not in the body",
        ),
    ] = None,
) -> HealthCheckResult:
    raw = await read_body(request, who.context.max_body_bytes)
    body = _health_request(raw)
    if body is not None and model is not None and body.model != model:
        raise _bad_request("value_error", "name the model once: body and query disagree")
    name = body.model if body is not None else model
    if name is None:
        raise _bad_request("missing", 'name the model: {"model": "..."} or ?model=...')
    context = who.context
    return await http_async(context.catalog.health_check(name, context.caller_of(who.user)))


def _health_request(raw: bytes) -> HealthCheckRequest | None:
    """The health-check body as FastAPI would parse it: empty or null means none."""
    if not raw.strip() or raw.strip() == b"null":
        return None
    try:
        return HealthCheckRequest.model_validate_json(raw)
    except ValidationError as exc:
        raise body_errors(exc) from None


def _bad_request(kind: str, message: str) -> RequestValidationError:
    """A 422 in FastAPI's own validation-error shape, as the route documents."""
    return RequestValidationError([{"loc": ("body", "model"), "msg": message, "type": kind}])


@router.get(
    "/recommendations",
    summary="Rank the models for a task",
    description=(
        "Every model ranked for the task type, the context length it must hold and the "
        "cost preference, each with its reasons and estimated cost per 1k tokens; "
        "`recommended` is the best fitting model not known to be down."
    ),
)
def recommendations(
    work: CatalogDep,
    task_type: Annotated[
        str | None,
        Query(
            max_length=100,
            description=(
                "The task to rank for, e.g. customer_inquiry: a key of the policy's "
                "routing_rules.task_preferences (its models, in that order, fit the task "
                "best) or a word matched against the models' use_cases and capabilities. "
                "Without it, only a general use case counts as task fit."
            ),
            examples=["customer_inquiry"],
        ),
    ] = None,
    context_length: Annotated[
        int,
        Query(
            ge=0,
            le=100_000_000,
            description="Tokens (prompt plus answer) the model must hold; 0: no requirement",
        ),
    ] = 0,
    cost_preference: Annotated[
        Preference,
        Query(
            description=(
                "How to rank: cheapest (blended price first), balanced (task fit, price "
                "and quality weighed together) or quality (the policy's quality first)"
            )
        ),
    ] = "balanced",
) -> Recommendations:
    return work.recommendations(task_type, context_length, cost_preference)


@router.get(
    "/step-schema",
    summary="The AI step JSON Schema with the live model list",
    description=(
        "The JSON Schema (2020-12) for an AI step's config, with `model` and "
        "`fallback_models` limited to the live policy's models, for builder forms."
    ),
)
def schema(work: CatalogDep) -> dict[str, Any]:
    return step_schema(work.store.current())
